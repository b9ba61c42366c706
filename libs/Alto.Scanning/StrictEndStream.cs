namespace Alto.Scanning;

/// <summary>
/// A read-only view of a seekable stream whose single-byte read past the end throws instead of
/// answering -1. Parquet.Net reads Thrift's variable-length integers byte by byte and takes -1 for
/// 0xFF, a byte that says "more follows": over a plain stream, a page header cut off in the middle
/// of one is read for ever, holding a CPU. The wrapped stream is left open.
/// </summary>
public sealed class StrictEndStream(Stream inner) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override int ReadByte() =>
        inner.ReadByte() is >= 0 and var value ? value : throw new EndOfStreamException($"a read past the end of the {inner.Length}-byte data");

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => inner.Read(buffer);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
