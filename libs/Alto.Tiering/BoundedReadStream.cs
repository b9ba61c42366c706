namespace Alto.Tiering;

/// <summary>Reads at most a given number of bytes of another stream (a range read), then ends; owns the inner stream.</summary>
public sealed class BoundedReadStream(Stream inner, long limit) : ReadOnlyForwardStream
{
    private readonly long _limit = limit;
    private long _remaining = limit;

    public override long Length => _limit;

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        _remaining -= read;
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken);
        _remaining -= read;
        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }
}
