using Alto.Agent.Jobs;
using Microsoft.Extensions.Time.Testing;

namespace Alto.Agent.Tests.Jobs;

[Trait("Layer", "Unit")]
public sealed class BandwidthThrottleTests
{
    [Fact]
    public void ReadsWaitOnceTheyRunAheadOfTheLimitBeyondTheBurst()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 0, 0, 0, TimeSpan.Zero));
        var throttle = new BandwidthThrottle(clock) { BytesPerSecond = 1_000_000 };

        // 200 KB is 0.2 s of link: within the burst, no wait.
        Assert.Equal(TimeSpan.Zero, throttle.Book(200_000));
        // Another 1 MB books up to 1.2 s from now: wait 1.2 s less the 0.25 s burst.
        Assert.Equal(TimeSpan.FromMilliseconds(950), throttle.Book(1_000_000));
        // Time passes: the booking is behind the clock again and small reads go at once.
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.Zero, throttle.Book(100_000));
    }

    [Fact]
    public void ParallelUploadsShareOneLimit()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var throttle = new BandwidthThrottle(clock) { BytesPerSecond = 10_000_000 };
        var waits = Enumerable.Range(0, 10).AsParallel().Select(_ => throttle.Book(10_000_000)).ToList();
        // Ten seconds of link booked in all: the last to book waits 10 s less the burst.
        Assert.Equal(TimeSpan.FromSeconds(10) - BandwidthThrottle.Burst, waits.Max());
    }

    [Fact]
    public void NoLimitNeverWaits()
    {
        var throttle = new BandwidthThrottle(new FakeTimeProvider()) { BytesPerSecond = 0 };
        Assert.Equal(TimeSpan.Zero, throttle.Book(long.MaxValue / 2));
    }
}
