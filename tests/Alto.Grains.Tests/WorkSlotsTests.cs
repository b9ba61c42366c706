using Alto.Grains.Scans;
using Microsoft.Extensions.Options;

namespace Alto.Grains.Tests;

/// <summary>A silo merges at most Alto:Ingest:MaxConcurrentMerges scans at once (and plans at most Alto:Planner:MaxConcurrentPlans hosts, with the same slots); the others wait for a slot.</summary>
public sealed class WorkSlotsTests
{
    [Fact]
    public async Task AMergeBeyondTheLimitWaitsUntilASlotIsGivenBackAndASlotIsGivenBackOnce()
    {
        using var slots = new MergeSlots(Options.Create(new IngestOptions { MaxConcurrentMerges = 2 }));
        var first = await slots.TakeAsync(CancellationToken.None);
        var second = await slots.TakeAsync(CancellationToken.None);
        var third = slots.TakeAsync(CancellationToken.None);
        await Task.Delay(200);
        Assert.False(third.IsCompleted);

        first.Dispose();
        first.Dispose();
        var taken = await third.WaitAsync(TimeSpan.FromSeconds(5));
        // Giving the first slot back twice freed one slot, not two: a fourth merge still waits.
        var fourth = slots.TakeAsync(CancellationToken.None);
        await Task.Delay(200);
        Assert.False(fourth.IsCompleted);

        second.Dispose();
        (await fourth.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
        taken.Dispose();
    }
}
