using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Security.Cryptography;
using ZstdSharp;

namespace Alto.Scanning;

/// <summary>
/// A chunk's decompressed bytes, read as they arrive: nothing is buffered beyond the decoder's
/// window, so a compression bomb costs time up to <c>limit</c> bytes, never memory. Reading past
/// the limit throws <see cref="ChunkTooLargeException"/>; damaged or truncated data throws
/// <see cref="ChunkCorruptException"/> (a gzip member's CRC-32 and length are checked at its end,
/// since .NET's reader ends quietly at a truncated stream). At the end, <see cref="Digest"/> is
/// the SHA-256 of everything decompressed: what identifies the chunk's content.
/// </summary>
public sealed class ChunkDecodeStream : Stream
{
    private readonly TailKeepingStream _input;
    private readonly Stream _decoder;
    private readonly ChunkCompressionKind _kind;
    private readonly long _limit;
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Crc32 _crc = new();
    private long _produced;
    private byte[]? _digest;

    public ChunkDecodeStream(Stream input, ChunkCompressionKind kind, long limit)
    {
        _input = new TailKeepingStream(input);
        _kind = kind;
        _limit = limit;
        _decoder = kind switch
        {
            ChunkCompressionKind.Zstd => new DecompressionStream(_input, leaveOpen: true),
            ChunkCompressionKind.Gzip => new GZipStream(_input, CompressionMode.Decompress, leaveOpen: true),
            _ => _input,
        };
    }

    /// <summary>Bytes decompressed so far.</summary>
    public long Produced => _produced;

    /// <summary>The SHA-256 of the whole decompressed chunk, once it was read to its end.</summary>
    public byte[] Digest => _digest ?? throw new InvalidOperationException("the chunk has not been read to its end");

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _produced; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            read = _decoder.Read(buffer);
        }
        catch (Exception exception) when (IsCorruption(exception))
        {
            throw Corrupt(exception);
        }
        if (read == 0 && _kind == ChunkCompressionKind.Gzip && _digest is null)
        {
            _input.CopyTo(Stream.Null);
        }
        return Account(buffer[..read]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read;
        try
        {
            read = await _decoder.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception exception) when (IsCorruption(exception))
        {
            throw Corrupt(exception);
        }
        if (read == 0 && _kind == ChunkCompressionKind.Gzip && _digest is null)
        {
            // Whatever follows the member (nothing, normally) is read so its trailer is the input's last 8 bytes.
            await _input.CopyToAsync(Stream.Null, cancellationToken);
        }
        return Account(buffer.Span[..read]);
    }

    private int Account(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            Finish();
            return 0;
        }
        _produced += data.Length;
        if (_produced > _limit)
        {
            throw new ChunkTooLargeException(_limit);
        }
        _sha256.AppendData(data);
        if (_kind == ChunkCompressionKind.Gzip)
        {
            _crc.Append(data);
        }
        return data.Length;
    }

    private void Finish()
    {
        if (_digest is not null)
        {
            return;
        }
        if (_kind == ChunkCompressionKind.Gzip)
        {
            var trailer = _input.Tail;
            if (trailer.Length < 8 || BinaryPrimitives.ReadUInt32LittleEndian(trailer) != _crc.GetCurrentHashAsUInt32()
                || BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]) != (uint)_produced)
            {
                throw new ChunkCorruptException("the gzip data is damaged or truncated: its CRC-32 or length does not match");
            }
        }
        _digest = _sha256.GetHashAndReset();
    }

    private bool IsCorruption(Exception exception) =>
        exception is InvalidDataException or ZstdException or EndOfStreamException
        || (exception is IOException && _kind != ChunkCompressionKind.None);

    private ChunkCorruptException Corrupt(Exception exception) =>
        new($"the {ChunkCompression.Name(_kind)} data is damaged or truncated: {exception.Message}");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (!ReferenceEquals(_decoder, _input))
            {
                _decoder.Dispose();
            }
            _sha256.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Passes reads through and remembers the last 8 bytes read: where a gzip member keeps its trailer.</summary>
    private sealed class TailKeepingStream(Stream inner) : Stream
    {
        private readonly byte[] _tail = new byte[8];
        private int _kept;

        public ReadOnlySpan<byte> Tail => _tail.AsSpan(0, _kept);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer);
            Keep(buffer[..read]);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            Keep(buffer.Span[..read]);
            return read;
        }

        private void Keep(ReadOnlySpan<byte> data)
        {
            if (data.Length >= _tail.Length)
            {
                data[^_tail.Length..].CopyTo(_tail);
                _kept = _tail.Length;
                return;
            }
            // Shift the kept bytes left to make room for the new ones at the end.
            var keep = Math.Min(_kept, _tail.Length - data.Length);
            _tail.AsSpan(_kept - keep, keep).CopyTo(_tail);
            data.CopyTo(_tail.AsSpan(keep));
            _kept = keep + data.Length;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
