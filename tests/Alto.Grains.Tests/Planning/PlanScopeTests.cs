using Alto.Grains.Planning;
using Alto.Rules;
using Alto.Scanning;

namespace Alto.Grains.Tests.Planning;

/// <summary>What a plan may select at all: inside the volumes, at least the minimum size, never a LucidLink audit trail.</summary>
[Trait("Layer", "Unit")]
public sealed class PlanScopeTests
{
    [Theory]
    [InlineData("/lucid/Projects/a.mov", 0)]
    [InlineData("/lucid/.lucid_audit/node-1/2026/11/1764300000.log", RuleSet.NoMatch)]
    [InlineData("/lucid/Projects/.lucid_audit/x.log", RuleSet.NoMatch)]
    [InlineData("/lucid/Projects/.lucid_audit", 0)]
    [InlineData("/lucid/Projects/not.lucid_audit/x.log", 0)]
    [InlineData("/elsewhere/a.mov", RuleSet.OutsideVolumes)]
    public void APosixHostsAuditTrailIsNeverSelected(string path, int verdict) =>
        Assert.Equal(verdict, new PlanScope(PathFlavor.Posix, ["/lucid"], 0).Excludes(path, 100));

    [Theory]
    [InlineData(@"C:\Lucid\Projects\a.mov", 0)]
    [InlineData(@"C:\Lucid\.LUCID_AUDIT\node-1\x.log", RuleSet.NoMatch)]
    [InlineData(@"c:\lucid\projects\a.mov", 0)]
    public void AWindowsHostsAuditTrailIsNeverSelectedWhateverTheCase(string path, int verdict) =>
        Assert.Equal(verdict, new PlanScope(PathFlavor.Windows, [@"C:\Lucid"], 0).Excludes(path, 100));
}
