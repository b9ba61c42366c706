using Alto.Tiering;

namespace Alto.Agent.Jobs;

/// <summary>
/// Keeps the agent's uploads to the host's bandwidth limit, across every upload running at once:
/// each read of a file's bytes books its share of the link, and waits when the booking runs
/// ahead of the clock by more than a short burst. A limit of 0 (or less) is no limit.
/// </summary>
public sealed class BandwidthThrottle(TimeProvider time)
{
    /// <summary>How far ahead of the clock bookings may run before a read waits: smooths small reads.</summary>
    public static readonly TimeSpan Burst = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private long _bytesPerSecond;
    private DateTimeOffset _bookedUntil = DateTimeOffset.MinValue;

    public long BytesPerSecond
    {
        get => Interlocked.Read(ref _bytesPerSecond);
        set => Interlocked.Exchange(ref _bytesPerSecond, value);
    }

    /// <summary>How long to wait before sending <paramref name="bytes"/> more (and books them).</summary>
    public TimeSpan Book(long bytes)
    {
        var rate = BytesPerSecond;
        if (rate <= 0 || bytes <= 0)
        {
            return TimeSpan.Zero;
        }
        lock (_gate)
        {
            var now = time.GetUtcNow();
            var start = _bookedUntil > now ? _bookedUntil : now;
            _bookedUntil = start + TimeSpan.FromSeconds((double)bytes / rate);
            var ahead = _bookedUntil - now - Burst;
            return ahead > TimeSpan.Zero ? ahead : TimeSpan.Zero;
        }
    }

    public Task WaitAsync(long bytes, CancellationToken cancellationToken)
    {
        var wait = Book(bytes);
        return wait > TimeSpan.Zero ? Task.Delay(wait, time, cancellationToken) : Task.CompletedTask;
    }
}

/// <summary>A read-only stream whose reads wait for the throttle; the upload it feeds goes no faster than the limit.</summary>
public sealed class ThrottledReadStream(Stream inner, BandwidthThrottle throttle) : ReadOnlyForwardStream
{
    public override int Read(Span<byte> buffer) => throw new NotSupportedException("throttled reads are asynchronous");

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        await throttle.WaitAsync(read, cancellationToken);
        return read;
    }
}
