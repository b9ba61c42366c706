using System.Buffers;
using System.IO.Compression;
using ZstdSharp;

namespace Alto.Scanning;

public enum ChunkCompressionKind
{
    None = 0,
    Gzip = 1,
    Zstd = 2,
}

/// <summary>The decompressed chunk would be larger than allowed: a compression bomb, or a chunk too big.</summary>
public sealed class ChunkTooLargeException(string message) : Exception(message)
{
    public ChunkTooLargeException(long limit)
        : this($"the chunk decompresses to more than {limit} bytes")
    {
    }
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
                // Into a pooled buffer of the worst-case size, then copied at the size it came to: a fresh
                // bound-sized array a chunk is megabytes of new memory to fault in and zero, then copy again.
                using (var compressor = new Compressor(1))
                {
                    var bound = Compressor.GetCompressBound(data.Length);
                    var buffer = ArrayPool<byte>.Shared.Rent(bound);
                    try
                    {
                        return buffer.AsSpan(0, compressor.Wrap(data, buffer)).ToArray();
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
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
    /// Decompresses into memory, refusing to produce more than <paramref name="limit"/> bytes
    /// (tests and tools; the gateway reads a <see cref="ChunkDecodeStream"/> as it goes).
    /// </summary>
    public static async Task<MemoryStream> DecompressAsync(Stream input, ChunkCompressionKind kind, long limit, CancellationToken cancellationToken)
    {
        await using var decoded = new ChunkDecodeStream(input, kind, limit);
        var output = new MemoryStream();
        await decoded.CopyToAsync(output, cancellationToken);
        output.Position = 0;
        return output;
    }
}
