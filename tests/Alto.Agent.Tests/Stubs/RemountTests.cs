using System.Runtime.Versioning;
using Alto.Agent.Recall;
using Alto.TestSupport;
using Alto.Tiering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Tests.Stubs;

/// <summary>
/// A recall mark belongs to a file system as mounted (its superblock): an admin who unmounts a
/// volume and mounts it again (a check, a moved disk) gets a file system without the mark, and one
/// who mounts a volume after the agent started has one that was never marked — in both, stubs
/// would read as holes. The agent arms its volumes again at every change of the mount table, and
/// the recall guard does while no agent runs. The volume is a loop-mounted ext4 of its own.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class RemountTests : IDisposable
{
    /// <summary>How long a change of the mount table may take to be seen and armed (the agent and the guard are woken by the change itself), with room for a busy machine.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(3);

    private readonly ScratchFileSystem _volume = ScratchFileSystem.TryCreate(out var whyNot, megabytes: 64) ?? throw new InvalidOperationException(whyNot);
    private readonly string _work = Directory.CreateTempSubdirectory("alto-remount-").FullName;
    private readonly PathTierStore _store;
    private readonly Guid _targetId = Guid.NewGuid();

    public RemountTests() => _store = new PathTierStore(Path.Combine(_work, "tier2"));

    private string State => Path.Combine(_work, "state");

    private string Image => Path.Combine(Path.GetDirectoryName(_volume.Root)!, "volume.img");

    public void Dispose()
    {
        // The state folder goes first: the recall guard sees that and ends, releasing the volume.
        Directory.Delete(_work, true);
        _volume.Dispose();
    }

    [Fact]
    public async Task AVolumeMountedAgainWhileTheAgentRunsIsArmedAgainAndItsStubsReadWhole()
    {
        using var recall = ArmedRecall.Start(State, RecallGuarding.Auto, [_volume.Root], Stores, NullLogger.Instance);
        Assert.True(Assert.Single(recall.Volumes).Armed, Assert.Single(recall.Volumes).Reason);
        var (path, content) = await StubAsync(recall, "report.pdf");

        await MountAgainAsync();
        await Task.Delay(Settle);

        Assert.StartsWith(StubFiles.Sha256(content), (await StubFiles.ShellAsync($"sha256sum '{path}'")).Output, StringComparison.Ordinal);
        Assert.Null(recall.RefusalFor(path));
    }

    [Fact]
    public async Task AVolumeMountedAfterTheAgentStartedIsArmedThenAndOnlyThenTiered()
    {
        // The mount point exists, but the file system is not mounted on it yet (a late disk, an encrypted volume opened later).
        var late = Directory.CreateDirectory(Path.Combine(_work, "late")).FullName;
        var lateImage = Path.Combine(_work, "late.img");
        Assert.Equal(0, (await StubFiles.ShellAsync($"truncate -s 32M '{lateImage}' && mkfs.ext4 -q -F '{lateImage}'")).ExitCode);
        using var recall = ArmedRecall.Start(State, RecallGuarding.Auto, [late], Stores, NullLogger.Instance);
        Assert.False(Assert.Single(recall.Volumes).Armed);
        Assert.NotNull(recall.RefusalFor(Path.Combine(late, "x.bin")));

        Assert.Equal(0, (await StubFiles.ShellAsync($"mount -o loop '{lateImage}' '{late}'")).ExitCode);
        try
        {
            await WaitForAsync(() => recall.Volumes.Single().Armed, "the late volume to be armed");
            var path = Path.Combine(late, "late.bin");
            var content = StubFiles.Write(path, 200_000);
            Assert.Null(recall.RefusalFor(path));
            await StubFiles.TierAsync(path, _store, _targetId, recall.Hooks);
            StubFiles.AssertReleased(path);
            Assert.StartsWith(StubFiles.Sha256(content), (await StubFiles.ShellAsync($"sha256sum '{path}'")).Output, StringComparison.Ordinal);
        }
        finally
        {
            await StubFiles.ShellAsync($"umount '{late}' || umount -l '{late}'");
        }
    }

    [Fact]
    public async Task AVolumeMountedAgainWhileOnlyTheGuardRunsIsArmedByTheGuardSoAReaderWaitsForTheNextAgent()
    {
        var (path, content) = await StubThenStopTheAgentAsync("ledger.db");
        await MountAgainAsync();
        await Task.Delay(Settle);

        await AssertTheReaderWaitsForTheNextAgentAsync(StubFiles.ShellAsync($"sha256sum '{path}'"), content);
    }

    /// <summary>
    /// A stub read a tenth of a second after its volume was mounted again, with only the guard
    /// running: the guard used to see a change of the mount table only when something else woke it
    /// (within a second), and such a reader read holes. It now wakes at the change itself.
    /// </summary>
    [Fact]
    public async Task AStubReadJustAfterItsVolumeIsMountedAgainWhileOnlyTheGuardRunsWaitsForTheNextAgent()
    {
        var (path, content) = await StubThenStopTheAgentAsync("quick.db");
        // The guard has settled into its wait (a second at a time) with nothing to do.
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        await AssertTheReaderWaitsForTheNextAgentAsync(
            StubFiles.ShellAsync($"umount '{_volume.Root}' && mount -o loop '{Image}' '{_volume.Root}' && sleep 0.1 && sha256sum '{path}'"), content);
    }

    /// <summary>
    /// With the agent stopped, the volume stays unmounted for a while (a file system check, a disk
    /// moved) — longer than the guard takes to notice that no marked file system is left. The guard
    /// used to exit then, and the volume came back with no one to hold its stubs: they read as holes.
    /// </summary>
    [Fact]
    public async Task AVolumeAwayForAWhileWhileOnlyTheGuardRunsIsArmedWhenItComesBack()
    {
        var (path, content) = await StubThenStopTheAgentAsync("away.db");
        Assert.Equal(0, (await StubFiles.ShellAsync($"umount '{_volume.Root}'")).ExitCode);
        await Task.Delay(Settle + Settle);
        Assert.Equal(0, (await StubFiles.ShellAsync($"mount -o loop '{Image}' '{_volume.Root}'")).ExitCode);
        await Task.Delay(Settle);

        await AssertTheReaderWaitsForTheNextAgentAsync(StubFiles.ShellAsync($"sha256sum '{path}'"), content);
    }

    /// <summary>A stub made by an agent that then stops: the guard holds the group and the opens of stubs.</summary>
    private async Task<(string Path, byte[] Content)> StubThenStopTheAgentAsync(string name)
    {
        using var recall = ArmedRecall.Start(State, RecallGuarding.Auto, [_volume.Root], Stores, NullLogger.Instance);
        Assert.True(recall.SurvivesRestart, recall.Problem);
        return await StubAsync(recall, name);
    }

    /// <summary>The reader (a sha256sum of the stub) has not read it a while on; the next agent then serves it the original.</summary>
    private async Task AssertTheReaderWaitsForTheNextAgentAsync(Task<(int ExitCode, string Output)> reader, byte[] content)
    {
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.False(reader.IsCompleted, "the stub was read while no agent ran: " + (reader.IsCompleted ? (await reader).Output : ""));
        using var next = ArmedRecall.Start(State, RecallGuarding.Auto, [], Stores, NullLogger.Instance);
        Assert.StartsWith(StubFiles.Sha256(content), (await reader).Output, StringComparison.Ordinal);
    }

    private ITierStore Stores(Guid targetId) => targetId == _targetId ? _store : throw new TierStoreUnavailableException("no such target");

    private async Task<(string Path, byte[] Content)> StubAsync(ArmedRecall recall, string name)
    {
        var path = Path.Combine(_volume.Root, name);
        var content = StubFiles.Write(path, 300_000);
        await StubFiles.TierAsync(path, _store, _targetId, recall.Hooks);
        StubFiles.AssertReleased(path);
        return (path, content);
    }

    /// <summary>Unmounts the volume and mounts the same file system again: a new superblock, without the marks of the old one.</summary>
    private async Task MountAgainAsync()
    {
        var again = await StubFiles.ShellAsync($"umount '{_volume.Root}' && mount -o loop '{Image}' '{_volume.Root}'");
        Assert.True(again.ExitCode == 0, again.Output);
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Settle;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited {Settle.TotalSeconds} s for {what}");
            await Task.Delay(50);
        }
    }
}
