using Alto.GrainInterfaces.Hosts;

namespace Alto.Grains.Tests.Planning;

/// <summary>Hybrid mode: a LucidLink host is scanned in full when its last scan is as old as its interval (default 30 days).</summary>
[Trait("Layer", "Unit")]
public sealed class HybridScanTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(null, 30, true)]
    [InlineData(29.9, 30, false)]
    [InlineData(30.0, 30, true)]
    [InlineData(6.0, 7, false)]
    [InlineData(8.0, 7, true)]
    public void AFullScanIsDueWhenTheLastOneIsAsOldAsTheInterval(double? daysAgo, int fullScanDays, bool due)
    {
        var lucid = new LucidLinkVolume("/lucid", 300) { FullScanDays = fullScanDays };
        Assert.Equal(due, lucid.FullScanDue(daysAgo is { } days ? Now.AddDays(-days) : null, Now));
    }

    [Fact]
    public void TheDefaultIsMonthly() => Assert.Equal(30, new LucidLinkVolume("/lucid", 300).FullScanDays);
}
