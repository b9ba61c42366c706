using Alto.Tiering;

namespace Alto.Agent.Tests.Tiering;

/// <summary>
/// A store stays inside its root by whole path segments, and a cloud target without credentials
/// of its own does not fall back on the host's ambient identity unless it says so.
/// </summary>
[Trait("Layer", "Unit")]
public sealed class TargetBoundsTests : IDisposable
{
    private readonly string _parent = Directory.CreateTempSubdirectory("alto-bounds-").FullName;

    public void Dispose() => Directory.Delete(_parent, true);

    [Theory]
    [InlineData("../t2-other/secret.bin")]
    [InlineData("../t2/../t2-other/secret.bin")]
    [InlineData("/etc/passwd")]
    public async Task AKeyThatLeavesTheRootBySomeSegmentIsRefused(string key)
    {
        var root = Directory.CreateDirectory(Path.Combine(_parent, "t2")).FullName;
        var neighbour = Directory.CreateDirectory(Path.Combine(_parent, "t2-other")).FullName;
        await File.WriteAllTextAsync(Path.Combine(neighbour, "secret.bin"), "another tenant's object");
        var store = new TierTarget("path", root).Open();

        await Assert.ThrowsAsync<ArgumentException>(() => store.OpenReadAsync(key, 0, null, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.GetInfoAsync(key, CancellationToken.None));
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azure")]
    public void ACloudTargetWithoutCredentialsOpensOnlyWhenItMayUseTheHostsIdentity(string kind)
    {
        var bare = new TierTarget(kind, Bucket: "alto-tier2", Region: "us-east-1", Container: "tier2", AccountUrl: "https://acct.blob.core.windows.net");

        var refused = Assert.Throws<ArgumentException>(() => bare.Open());

        Assert.Contains("useHostIdentity", refused.Message, StringComparison.Ordinal);
        Assert.NotNull((bare with { UseHostIdentity = true }).Open());
    }
}
