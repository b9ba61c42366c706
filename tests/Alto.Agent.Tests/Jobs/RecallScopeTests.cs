using System.Runtime.Versioning;
using Alto.Agent.Connection;
using Alto.Agent.Jobs;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.Tiering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// A recall the cluster asks for, raced by a local user: the path passed the volume check, then a
/// folder on it or the stub itself became a link. The agent (root) must judge the file its open
/// reaches, and leave a stub outside the volumes a stub. Real files, real extended attributes, a
/// real path store.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Layer", "Unit")]
public sealed class RecallScopeTests : IDisposable
{
    private readonly string _volume = Directory.CreateTempSubdirectory("alto-recall-volume-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("alto-recall-outside-").FullName;
    private readonly string _state = Directory.CreateTempSubdirectory("alto-recall-state-").FullName;
    private readonly PathTierStore _store = new(Directory.CreateTempSubdirectory("alto-recall-tier2-").FullName);
    private readonly OperationJournal _journal;
    private readonly Guid _targetId = Guid.NewGuid();

    public RecallScopeTests() => _journal = new OperationJournal(_state);

    public void Dispose()
    {
        _journal.Dispose();
        foreach (var folder in new[] { _volume, _outside, _state, _store.Root })
        {
            Directory.Delete(folder, true);
        }
    }

    /// <summary>The runner as the agent's worker builds it for the cluster: its refusal is the volume check.</summary>
    private RecallRunner Runner() =>
        new(_journal, LinuxStubDriver.Instance, _ => _store, NullLogger.Instance, refusal: path => VolumeScope.Refusal(path, [_volume]));

    private async Task<string> StubAsync(string folder, string name, int length)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name);
        StubFiles.Write(path, length);
        await StubFiles.TierAsync(path, _store, _targetId);
        return path;
    }

    [Fact]
    public async Task AFolderSwappedForALinkOutOfTheVolumeAfterTheCheckLeavesTheStubThereAStub()
    {
        var planned = await StubAsync(Path.Combine(_volume, "projects"), "payroll.db", 40_000);
        var secret = await StubAsync(Path.Combine(_outside, "projects"), "payroll.db", 40_000);
        Assert.Null(VolumeScope.Refusal(planned, [_volume]));
        // The user's move, right after the worker's check.
        Directory.Move(Path.Combine(_volume, "projects"), Path.Combine(_volume, "projects.away"));
        Directory.CreateSymbolicLink(Path.Combine(_volume, "projects"), Path.Combine(_outside, "projects"));
        var runner = Runner();

        var outcomes = await runner.RecallAsync([planned], CancellationToken.None);

        var failure = Assert.Single(outcomes.Select(outcome => outcome.Error).Concat(runner.FailedWithoutStub).OfType<string>());
        Assert.Contains($"reached {secret}", failure, StringComparison.Ordinal);
        Assert.Contains("not below any of this host's volumes", failure, StringComparison.Ordinal);
        Assert.NotNull(LinuxStubs.Peek(secret));
        StubFiles.AssertReleased(secret);
        Assert.Empty(_journal.Unfinished());
    }

    [Fact]
    public async Task ALinkPutWhereTheStubWasIsNotFollowedEvenToAnotherStub()
    {
        var planned = await StubAsync(_volume, "report.xlsx", 30_000);
        var other = await StubAsync(Path.Combine(_volume, "other"), "budget.xlsx", 30_000);
        File.Delete(planned);
        File.CreateSymbolicLink(planned, other);
        var runner = Runner();

        var outcomes = await runner.RecallAsync([planned], CancellationToken.None);

        var failure = Assert.Single(outcomes.Select(outcome => outcome.Error).Concat(runner.FailedWithoutStub).OfType<string>());
        Assert.Contains("a symbolic link is where the file was; the agent does not follow it", failure, StringComparison.Ordinal);
        StubFiles.AssertReleased(other);
    }

    [Fact]
    public async Task AFifoWhereTheStubWasIsNotOpened()
    {
        var planned = Path.Combine(_volume, "queue");
        Assert.Equal(0, (await StubFiles.ShellAsync($"mkfifo '{planned}'")).ExitCode);
        var runner = Runner();

        var outcomes = await runner.RecallAsync([planned], CancellationToken.None);

        Assert.Empty(outcomes);
        Assert.Contains("not a regular file", Assert.Single(runner.FailedWithoutStub), StringComparison.Ordinal);
    }

    /// <summary>The check must not refuse what is legitimately reached through a link: a folder linked within the volume.</summary>
    [Fact]
    public async Task AStubReachedThroughALinkWithinTheVolumeIsRecalled()
    {
        var real = Path.Combine(_volume, "archive-2024");
        Directory.CreateDirectory(real);
        var original = StubFiles.Write(Path.Combine(real, "scan.tif"), 50_000);
        await StubFiles.TierAsync(Path.Combine(real, "scan.tif"), _store, _targetId);
        Directory.CreateSymbolicLink(Path.Combine(_volume, "archive"), real);
        var runner = Runner();

        var outcome = Assert.Single(await runner.RecallAsync([Path.Combine(_volume, "archive", "scan.tif")], CancellationToken.None));

        Assert.Null(outcome.Error);
        Assert.Empty(runner.FailedWithoutStub);
        Assert.Null(LinuxStubs.Peek(Path.Combine(real, "scan.tif")));
        Assert.Equal(original, await File.ReadAllBytesAsync(Path.Combine(real, "scan.tif")));
    }
}
