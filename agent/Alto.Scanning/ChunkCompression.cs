using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using ZstdSharp;

namespace Alto.Scanning;

public enum ChunkCompressionKind
{
    None = 0,
    Gzip = 1,
    Zstd = 2,
}

/// <summary>The decompressed chunk would be larger than allowed: a compression bomb, or a chunk too big.</summary>
public sealed class ChunkTooLargeException(long limit) : Exception($"the chunk decompresses to more than {limit} bytes")
{
    public long Limit { get; } = limit;
}

/// <summary>The compressed data is damaged or truncated.</summary>
public sealed class ChunkCorruptException(string message) : Exception(message);

/// <summary>Compression of scan chunks on the agent, and bounded decompression on the gateway.</summary>
public static class ChunkCompression
{
    public static string Name(ChunkCompressionKind kind) => kind switch
    {
        ChunkCompressionKind.Gzip => "gzip",
        ChunkCompressionKind.Zstd => "zstd",
        _ => "none",
    };

    public static bool TryParse(string? name, out ChunkCompressionKind kind)
    {
        kind = name switch
        {
            "gzip" => ChunkCompressionKind.Gzip,
            "zstd" => ChunkCompressionKind.Zstd,
            "none" or null or "" => ChunkCompressionKind.None,
            _ => (ChunkCompressionKind)(-1),
        };
        return Enum.IsDefined(kind);
    }

    public static byte[] Compress(ReadOnlySpan<byte> data, ChunkCompressionKind kind)
    {
        switch (kind)
        {
            case ChunkCompressionKind.Zstd:
                // Level 1: the agent compresses while it scans; speed matters more than the last few percent.
                using (var compressor = new Compressor(1))
                {
                    return compressor.Wrap(data).ToArray();
                }
            case ChunkCompressionKind.Gzip:
                var output = new MemoryStream();
                using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
                {
                    gzip.Write(data);
                }
                return output.ToArray();
            default:
                return data.ToArray();
        }
    }

    /// <summary>
    /// Decompresses into memory, refusing to produce more than <paramref name="limit"/> bytes:
    /// reading stops at the limit, so a bomb costs at most that much memory.
    /// </summary>
    public static async Task<MemoryStream> DecompressAsync(Stream input, ChunkCompressionKind kind, long limit, CancellationToken cancellationToken)
    {
        if (kind == ChunkCompressionKind.Gzip)
        {
            return await DecompressGzipAsync(input, limit, cancellationToken);
        }
        return await DecompressStreamAsync(input, kind, limit, cancellationToken);
    }

    /// <summary>
    /// .NET's gzip reader ends quietly at a truncated stream; the member trailer (CRC-32 and length)
    /// is checked here so a cut-off upload is refused instead of silently losing rows.
    /// </summary>
    private static async Task<MemoryStream> DecompressGzipAsync(Stream input, long limit, CancellationToken cancellationToken)
    {
        var compressed = new MemoryStream();
        await input.CopyToAsync(compressed, cancellationToken);
        if (compressed.Length < 18)
        {
            throw new ChunkCorruptException("the gzip data is damaged or truncated: shorter than a gzip header and trailer");
        }
        compressed.Position = 0;
        var output = await DecompressStreamAsync(compressed, ChunkCompressionKind.Gzip, limit, cancellationToken);
        var trailer = compressed.GetBuffer().AsSpan((int)compressed.Length - 8, 8);
        var expectedCrc = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        var expectedLength = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        var actualCrc = Crc32.HashToUInt32(output.GetBuffer().AsSpan(0, (int)output.Length));
        if (expectedCrc != actualCrc || expectedLength != (uint)output.Length)
        {
            throw new ChunkCorruptException("the gzip data is damaged or truncated: its CRC-32 or length does not match");
        }
        return output;
    }

    private static async Task<MemoryStream> DecompressStreamAsync(Stream input, ChunkCompressionKind kind, long limit, CancellationToken cancellationToken)
    {
        Stream source = kind switch
        {
            ChunkCompressionKind.Zstd => new DecompressionStream(input, leaveOpen: true),
            ChunkCompressionKind.Gzip => new GZipStream(input, CompressionMode.Decompress, leaveOpen: true),
            _ => input,
        };
        var output = new MemoryStream();
        var buffer = new byte[81920];
        try
        {
            while (true)
            {
                var read = await source.ReadAsync(buffer, cancellationToken);
                if (read == 0)
                {
                    break;
                }
                if (output.Length + read > limit)
                {
                    throw new ChunkTooLargeException(limit);
                }
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch (Exception exception) when (exception is InvalidDataException or ZstdException or EndOfStreamException
                                           || (exception is IOException && kind != ChunkCompressionKind.None))
        {
            throw new ChunkCorruptException($"the {Name(kind)} data is damaged or truncated: {exception.Message}");
        }
        finally
        {
            if (!ReferenceEquals(source, input))
            {
                await source.DisposeAsync();
            }
        }
        output.Position = 0;
        return output;
    }
}
