using Alto.Agent.Connection;
using Alto.Tiering;

namespace Alto.Agent.Tests.Tiering;

/// <summary>
/// A recall's read that fails asks the cluster for the target again (it may have moved), but a
/// target that did not change keeps its read's own error, and the cluster — whose every answer
/// hands out secrets and is audited — is asked once per <see cref="TargetDirectory.AskAgainAfter"/>
/// however many reads fail. The cluster's answer is given by a function here, as the agent's
/// gateway client gives it; the folders are real.
/// </summary>
public sealed class TargetDirectoryTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("alto-target-directory-").FullName;

    public void Dispose() => Directory.Delete(_folder, true);

    [Fact]
    public async Task ReadsOfAMissingObjectOfAnUnchangedTargetFailWithTheirOwnErrorAndAskTheClusterOnce()
    {
        var target = new TierTarget("path", _folder);
        var asked = 0;
        var targets = new TargetDirectory((_, _, _) =>
        {
            Interlocked.Increment(ref asked);
            return Task.FromResult(target);
        });
        var targetId = Guid.NewGuid();
        targets.Remember(targetId, target);
        var key = $"{Guid.NewGuid()}/{new string('a', 64)}";

        var reads = Enumerable.Range(0, 5).Select(_ => Assert.ThrowsAsync<TierObjectNotFoundException>(
            () => targets.RecallStore(targetId).OpenReadAsync(key, 0, null, CancellationToken.None)));
        await Task.WhenAll(reads);
        await Assert.ThrowsAsync<TierObjectNotFoundException>(() => targets.RecallStore(targetId).OpenReadAsync(key, 0, null, CancellationToken.None));
        Assert.Equal(1, asked);
    }

    [Fact]
    public async Task AReadFailingWhereTheTargetWasIsTriedAgainWhereTheClusterSaysItIsNow()
    {
        var moved = Path.Combine(_folder, "moved");
        var store = new PathTierStore(moved);
        var tenantId = Guid.NewGuid();
        var stored = await store.PutAsync(tenantId, new MemoryStream([1, 2, 3]), CancellationToken.None);
        var targets = new TargetDirectory((_, _, _) => Task.FromResult(new TierTarget("path", moved)));
        var targetId = Guid.NewGuid();
        targets.Remember(targetId, new TierTarget("path", Path.Combine(_folder, "before")));

        await using var read = await targets.RecallStore(targetId).OpenReadAsync(stored.Key, 0, null, CancellationToken.None);
        var bytes = new MemoryStream();
        await read.CopyToAsync(bytes);
        Assert.Equal([1, 2, 3], bytes.ToArray());
        Assert.Equal(new TierTarget("path", moved), targets.ToTierTargetOf(targetId));
    }
}
