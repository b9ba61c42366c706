namespace Alto.TestSupport;

/// <summary>
/// The system clock moved forward on demand: what reads the time sees the jump at once, while
/// everything else (timers, other services) keeps running on real time. For code that compares
/// stored instants with "now", such as sign-in lockouts, without waiting them out.
/// </summary>
public sealed class MovableClock : TimeProvider
{
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Interlocked.Add(ref _offsetTicks, by.Ticks);
    }
}
