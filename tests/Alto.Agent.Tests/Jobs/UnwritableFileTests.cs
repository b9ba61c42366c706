using System.Runtime.Versioning;
using Alto.Agent.Jobs;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.TestSupport;
using Alto.Tiering;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// Files that even root may not change — immutable (<c>chattr +i</c>) or append-only
/// (<c>chattr +a</c>), as a compliance folder or a careful admin leaves them; the same holds for a
/// volume remounted read-only after errors. Such a file is never uploaded for nothing, a stubbing
/// it cuts short is settled at once, and a journal entry for one never keeps the agent (and
/// recall on every other volume) from starting.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Layer", "Unit")]
public sealed class UnwritableFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("alto-unwritable-").FullName;
    private readonly string _state = Directory.CreateTempSubdirectory("alto-unwritable-state-").FullName;
    private readonly PathTierStore _store = new(Directory.CreateTempSubdirectory("alto-unwritable-tier2-").FullName);
    private readonly FaultyStore _faulty;
    private readonly OperationJournal _journal;
    private readonly List<string> _flagged = [];

    public UnwritableFileTests()
    {
        _faulty = new FaultyStore(_store);
        _journal = new OperationJournal(_state);
    }

    public void Dispose()
    {
        foreach (var path in _flagged)
        {
            InodeFlags.Clear(path, InodeFlags.Immutable | InodeFlags.AppendOnly);
        }
        _journal.Dispose();
        foreach (var folder in new[] { _folder, _state, _store.Root })
        {
            Directory.Delete(folder, true);
        }
    }

    [Fact]
    public async Task AnImmutableOrAppendOnlyFileIsRefusedBeforeAnyByteIsUploaded()
    {
        var (job, originals) = Job("immutable.bin", "append-only.bin", "plain.bin");
        Flag(job.Files[0].Path, InodeFlags.Immutable);
        Flag(job.Files[1].Path, InodeFlags.AppendOnly);

        var outcomes = await Executor(LinuxStubDriver.Instance).ExecuteAsync(job, null, CancellationToken.None);

        Assert.Equal([FileOutcomeKind.Refused, FileOutcomeKind.Refused, FileOutcomeKind.Stubbed], outcomes.Select(outcome => outcome.Kind));
        Assert.StartsWith("the file is immutable (chattr +i): its data cannot be released, so it is not uploaded", outcomes[0].Reason, StringComparison.Ordinal);
        Assert.StartsWith("the file is append-only (chattr +a)", outcomes[1].Reason, StringComparison.Ordinal);
        Assert.Equal(1, _faulty.Puts);
        foreach (var file in job.Files.Take(2))
        {
            Assert.Null(LinuxStubs.Read(file.Path));
            Assert.Equal(originals[file.Path], await File.ReadAllBytesAsync(file.Path));
        }
        Assert.Empty(_journal.Unfinished());
    }

    [Fact]
    public async Task AFileOnAVolumeMountedReadOnlyIsRefusedBeforeAnyByteIsUploaded()
    {
        using var volume = ScratchFileSystem.TryCreate(out var whyNot, megabytes: 32) ?? throw new InvalidOperationException(whyNot);
        var path = Path.Combine(volume.Root, "on-read-only.bin");
        var original = StubFiles.Write(path, 60_000);
        var job = new TieringJob(Guid.NewGuid(), StubFiles.TenantId, Guid.NewGuid(), new TierTarget("path", _store.Root),
            [new JobFile(1, path, original.Length, StubFiles.Stat(path).ModifySeconds)]);
        // As ext4 does itself with errors=remount-ro when the disk under it fails.
        Assert.Equal(0, (await StubFiles.ShellAsync($"mount -o remount,ro '{volume.Root}'")).ExitCode);
        try
        {
            var outcome = Assert.Single(await Executor(LinuxStubDriver.Instance).ExecuteAsync(job, null, CancellationToken.None));

            Assert.Equal(FileOutcomeKind.Refused, outcome.Kind);
            Assert.StartsWith("the file system is mounted read-only: its data cannot be released, so it is not uploaded", outcome.Reason, StringComparison.Ordinal);
            Assert.Equal(0, _faulty.Puts);
            Assert.Equal(original, await File.ReadAllBytesAsync(path));
        }
        finally
        {
            await StubFiles.ShellAsync($"mount -o remount,rw '{volume.Root}'");
        }
    }

    [Fact]
    public async Task AFileMadeImmutableWhileItWasUploadedIsKeptAndItsStubbingSettledAtOnce()
    {
        var (job, originals) = Job("raced.bin");
        var path = job.Files[0].Path;
        // The flag comes between the verified upload and the stub, as an admin's chattr would.
        var stubs = new HookedStubDriver(beforeStub: stubbing => Flag(stubbing, InodeFlags.Immutable));

        var outcome = Assert.Single(await Executor(stubs).ExecuteAsync(job, null, CancellationToken.None));

        Assert.Equal(FileOutcomeKind.Failed, outcome.Kind);
        Assert.EndsWith("the original is kept", outcome.Reason, StringComparison.Ordinal);
        Assert.Null(LinuxStubs.Read(path));
        Assert.Equal(originals[path], await File.ReadAllBytesAsync(path));
        // Nothing was released (no locator was ever written), so there is nothing left for recovery.
        Assert.Empty(_journal.Unfinished());
    }

    [Fact]
    public async Task RecoveryPassesOverAStubItCannotWriteYetSettlesEveryOtherFileAndLaterThatOneToo()
    {
        var (job, originals) = Job("stub.bin", "never-marked.bin", "plain.bin");
        var (stubPath, neverMarked, plain) = (job.Files[0].Path, job.Files[1].Path, job.Files[2].Path);
        var tiered = await Executor(LinuxStubDriver.Instance).ExecuteAsync(job with { Files = [job.Files[0]] }, null, CancellationToken.None);
        Assert.Equal(FileOutcomeKind.Stubbed, Assert.Single(tiered).Kind);
        // A crash left three stubbings unfinished: one after its markers were written, two before.
        _journal.Append([
            new JournalEntry(JournalEntry.Tier, 1, stubPath, JournalEntry.Uploaded, job.TargetId),
            new JournalEntry(JournalEntry.Tier, 2, neverMarked, JournalEntry.Uploaded, job.TargetId),
            new JournalEntry(JournalEntry.Tier, 3, plain, JournalEntry.Begin, job.TargetId),
        ]);
        Flag(stubPath, InodeFlags.Immutable);
        Flag(neverMarked, InodeFlags.Immutable);

        var recovered = JournalRecovery.Recover(_journal, LinuxStubDriver.Instance);

        Assert.Equal(3, recovered.Count);
        var waiting = Assert.Single(recovered, item => item.Unsettled is not null);
        Assert.Equal(stubPath, waiting.Path);
        Assert.StartsWith("it cannot be opened for writing (", waiting.Unsettled, StringComparison.Ordinal);
        Assert.EndsWith("it carries a stub's markers: it is settled once it can be written", waiting.Unsettled, StringComparison.Ordinal);
        Assert.All(recovered.Where(item => item.Path != stubPath), item => Assert.False(item.IsStub));
        Assert.Equal([stubPath], _journal.Unfinished().Select(entry => entry.Path));
        // Named for the heartbeats, with the same reason.
        Assert.Equal([(stubPath, waiting.Unsettled)], _journal.Waiting.Select(operation => (operation.Path, (string?)operation.Why)));
        foreach (var path in new[] { neverMarked, plain })
        {
            Assert.Equal(originals[path], await File.ReadAllBytesAsync(path));
        }

        InodeFlags.Clear(stubPath, InodeFlags.Immutable);
        var later = Assert.Single(JournalRecovery.Recover(_journal, LinuxStubDriver.Instance));
        Assert.Equal((stubPath, true, (string?)null), (later.Path, later.IsStub, later.Unsettled));
        StubFiles.AssertReleased(stubPath);
        Assert.Equal(StubFiles.Sha256(originals[stubPath]), await Sha256Check.OfObjectAsync(_store, LinuxStubs.Read(stubPath)!.Locator, CancellationToken.None));
        Assert.Empty(_journal.Unfinished());
        Assert.Empty(_journal.Waiting);
    }

    [Fact]
    public async Task ATryAgainSettlesOnlyTheWaitingOperationAndLeavesOneStillInFlightAlone()
    {
        var (job, originals) = Job("held-stub.bin", "in-flight.bin");
        var (stubPath, inFlight) = (job.Files[0].Path, job.Files[1].Path);
        Assert.Equal(FileOutcomeKind.Stubbed, Assert.Single(await Executor(LinuxStubDriver.Instance).ExecuteAsync(job with { Files = [job.Files[0]] }, null, CancellationToken.None)).Kind);
        _journal.Append(new JournalEntry(JournalEntry.Tier, 1, stubPath, JournalEntry.Uploaded, job.TargetId));
        Flag(stubPath, InodeFlags.Immutable);
        Assert.NotNull(Assert.Single(JournalRecovery.Recover(_journal, LinuxStubDriver.Instance)).Unsettled);
        // A job has begun another file since: its operation is unfinished, but not the retry's to settle.
        _journal.Append(new JournalEntry(JournalEntry.Tier, 2, inFlight, JournalEntry.Begin, job.TargetId));

        var stillHeld = Assert.Single(JournalRecovery.RetryWaiting(_journal, LinuxStubDriver.Instance));
        Assert.Equal(stubPath, stillHeld.Path);
        Assert.StartsWith("it cannot be opened for writing (", stillHeld.Unsettled, StringComparison.Ordinal);
        Assert.Equal(stubPath, Assert.Single(_journal.Waiting).Path);

        InodeFlags.Clear(stubPath, InodeFlags.Immutable);
        var settled = Assert.Single(JournalRecovery.RetryWaiting(_journal, LinuxStubDriver.Instance));

        Assert.Equal((stubPath, true, (string?)null), (settled.Path, settled.IsStub, settled.Unsettled));
        StubFiles.AssertReleased(stubPath);
        Assert.Empty(_journal.Waiting);
        Assert.Equal([(inFlight, JournalEntry.Begin)], _journal.Unfinished().Select(entry => (entry.Path, entry.Phase)));
        Assert.Equal(originals[inFlight], await File.ReadAllBytesAsync(inFlight));
        Assert.Empty(JournalRecovery.RetryWaiting(_journal, LinuxStubDriver.Instance));
    }

    [Fact]
    public async Task TheRetryLoopLogsAFileStillHeldOnceAndSettlesItSoonAfterItIsWritable()
    {
        var (job, _) = Job("held-by-a-loop.bin");
        var stubPath = job.Files[0].Path;
        Assert.Equal(FileOutcomeKind.Stubbed, Assert.Single(await Executor(LinuxStubDriver.Instance).ExecuteAsync(job, null, CancellationToken.None)).Kind);
        _journal.Append(new JournalEntry(JournalEntry.Tier, 1, stubPath, JournalEntry.Uploaded, job.TargetId));
        Flag(stubPath, InodeFlags.Immutable);
        var logger = new FakeLogger();
        using var retry = new UnsettledRetry(_journal, LinuxStubDriver.Instance, TimeSpan.FromMilliseconds(100), logger);
        retry.SettleAtStart();
        using var stop = new CancellationTokenSource();
        var loop = retry.RunAsync(stop.Token);
        await Task.Delay(600);
        // Tried about six times by now, and still held: its error was logged once.
        Assert.Single(logger.Collector.GetSnapshot(), record => record.Message.Contains("cannot be settled now", StringComparison.Ordinal));
        Assert.Single(_journal.Waiting);

        InodeFlags.Clear(stubPath, InodeFlags.Immutable);
        var settled = $"Settled an interrupted tier of {stubPath}: a valid stub";
        await Eventually.WaitAsync(() => Task.FromResult(logger.Collector.GetSnapshot().Any(record => record.Message == settled)),
            "the file settled by the loop", TimeSpan.FromSeconds(10));
        Assert.Empty(_journal.Waiting);
        StubFiles.AssertReleased(stubPath);
        Assert.False(loop.IsCompleted, "the loop ended once nothing waited");
        await stop.CancelAsync();
        await loop;
        Assert.Equal(1, logger.Collector.GetSnapshot().Count(record => record.Message == settled));
    }

    [Fact]
    public async Task AStubbingThatFailsOnceTheFileIsMarkedAndImmutableWaitsInTheJournalAndIsNamed()
    {
        var (job, _) = Job("marked-then-held.bin");
        var path = job.Files[0].Path;
        // After the markers and the release, the file is made immutable and the step after fails.
        var stubs = new HookedStubDriver(afterStub: stubbed =>
        {
            Flag(stubbed, InodeFlags.Immutable);
            throw new IOException("the disk went away");
        });

        var outcome = Assert.Single(await Executor(stubs).ExecuteAsync(job, null, CancellationToken.None));

        Assert.Equal(FileOutcomeKind.Failed, outcome.Kind);
        var waiting = Assert.Single(_journal.Waiting);
        Assert.Equal((JournalEntry.Tier, job.Files[0].TierObjectId, path), (waiting.Operation, waiting.TierObjectId, waiting.Path));
        Assert.EndsWith("it carries a stub's markers: it is settled once it can be written", waiting.Why, StringComparison.Ordinal);
        Assert.Equal([path], _journal.Unfinished().Select(entry => entry.Path));
        Assert.Equal($"1 file is left between original and stub: {path} (tier): {waiting.Why}. " +
            "Make the files writable again (chattr -i, remount read-write): the agent tries them again on its own (every 60 s unless --unsettled-retry-seconds says otherwise) and at its start",
            WaitingOperations.Describe(_journal.Waiting));
    }

    private JobExecutor Executor(IStubDriver stubs) => new(_journal, stubs, NullLogger.Instance, TimeSpan.FromMilliseconds(5), _ => _faulty);

    private (TieringJob Job, Dictionary<string, byte[]> Originals) Job(params string[] names)
    {
        var originals = new Dictionary<string, byte[]>();
        var files = new List<JobFile>();
        foreach (var (name, i) in names.Select((name, i) => (name, i)))
        {
            var path = Path.Combine(_folder, name);
            originals[path] = StubFiles.Write(path, 50_000 + i);
            files.Add(new JobFile(i + 1, path, originals[path].Length, StubFiles.Stat(path).ModifySeconds));
        }
        return (new TieringJob(Guid.NewGuid(), StubFiles.TenantId, Guid.NewGuid(), new TierTarget("path", _store.Root), files), originals);
    }

    private void Flag(string path, int flag)
    {
        InodeFlags.Set(path, flag);
        _flagged.Add(path);
    }
}
