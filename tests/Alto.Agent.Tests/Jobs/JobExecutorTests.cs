using System.Runtime.Versioning;
using Alto.Agent.Jobs;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.Tiering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Tests.Jobs;

[SupportedOSPlatform("linux")]
[Trait("Layer", "Unit")]
public sealed class JobExecutorTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("alto-job-").FullName;
    private readonly string _state = Directory.CreateTempSubdirectory("alto-job-state-").FullName;
    private readonly PathTierStore _store = new(Directory.CreateTempSubdirectory("alto-job-tier2-").FullName);
    private readonly FaultyStore _faulty;
    private readonly OperationJournal _journal;
    private readonly Guid _targetId = Guid.NewGuid();

    public JobExecutorTests()
    {
        _faulty = new FaultyStore(_store);
        _journal = new OperationJournal(_state);
    }

    public void Dispose()
    {
        _journal.Dispose();
        foreach (var folder in new[] { _folder, _state, _store.Root })
        {
            Directory.Delete(folder, true);
        }
    }

    private JobExecutor Executor(ITierStore? store = null) => new(_journal, LinuxStubDriver.Instance, NullLogger.Instance, TimeSpan.FromMilliseconds(5), _ => store ?? _faulty);

    private (TieringJob Job, Dictionary<string, byte[]> Originals) Job(int files, int size = 100_000)
    {
        var originals = new Dictionary<string, byte[]>();
        var jobFiles = new List<JobFile>();
        for (var i = 0; i < files; i++)
        {
            var path = Path.Combine(_folder, $"f{i}.bin");
            originals[path] = StubFiles.Write(path, size + i);
            jobFiles.Add(new JobFile(i + 1, path, size + i, StubFiles.Stat(path).ModifySeconds));
        }
        return (new TieringJob(Guid.NewGuid(), StubFiles.TenantId, _targetId, new TierTarget("path", _store.Root), jobFiles), originals);
    }

    private static async Task AssertOriginalAsync(string path, byte[] original)
    {
        Assert.Null(LinuxStubs.Read(path));
        Assert.Equal(original, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task EveryFileIsUploadedVerifiedAndStubbedAndARepeatIsHarmless()
    {
        var (job, originals) = Job(3);

        var outcomes = await Executor().ExecuteAsync(job, null, CancellationToken.None);

        Assert.All(outcomes, outcome => Assert.Equal(FileOutcomeKind.Stubbed, outcome.Kind));
        foreach (var (outcome, file) in outcomes.Zip(job.Files))
        {
            var stub = LinuxStubs.Read(file.Path)!;
            Assert.Equal((outcome.Locator, outcome.Sha256), (stub.Locator, stub.Sha256));
            Assert.Equal(StubFiles.Sha256(originals[file.Path]), await Sha256Check.OfObjectAsync(_store, stub.Locator, CancellationToken.None));
            StubFiles.AssertReleased(file.Path);
        }
        Assert.Empty(_journal.Unfinished());

        var again = await Executor().ExecuteAsync(job, null, CancellationToken.None);
        Assert.Equal(outcomes, again);
        Assert.Equal(3, _faulty.Puts);
    }

    [Fact]
    public async Task AJobCancelledBeforeAFileStartsUploadsNothingAndReportsEachFileAsItIs()
    {
        var (job, originals) = Job(3);
        // An earlier run of the job made the first file a stub (the cluster never heard: the agent restarted).
        var first = await Executor().ExecuteAsync(job with { Files = [job.Files[0]] }, null, CancellationToken.None);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var outcomes = await Executor().ExecuteAsync(job, null, CancellationToken.None, cancelled.Token);

        Assert.Equal([FileOutcomeKind.Stubbed, FileOutcomeKind.Cancelled, FileOutcomeKind.Cancelled], outcomes.Select(outcome => outcome.Kind));
        Assert.Equal((first[0].Locator, first[0].Sha256), (outcomes[0].Locator, outcomes[0].Sha256));
        Assert.All(outcomes.Skip(1), outcome => Assert.Equal("not started: the job was cancelled; the file is kept as it is", outcome.Reason));
        foreach (var file in job.Files.Skip(1))
        {
            await AssertOriginalAsync(file.Path, originals[file.Path]);
        }
        Assert.Equal(1, _faulty.Puts);
        Assert.Empty(_journal.Unfinished());
    }

    [Fact]
    public async Task AZstdTargetStoresCompressedObjectsAndRecallRestoresTheExactBytes()
    {
        var path = Path.Combine(_folder, "log.txt");
        var text = string.Concat(Enumerable.Range(0, 20_000).Select(i => $"2026-11-28 line {i % 97} of a compressible log\n"));
        await File.WriteAllTextAsync(path, text);
        var original = await File.ReadAllBytesAsync(path);
        var times = StubFiles.Stat(path);
        var job = new TieringJob(Guid.NewGuid(), StubFiles.TenantId, _targetId, new TierTarget("path", _store.Root, Compression: "zstd"),
            [new JobFile(1, path, original.Length, times.ModifySeconds)]);

        var outcome = Assert.Single(await Executor().ExecuteAsync(job, null, CancellationToken.None));

        Assert.Equal(FileOutcomeKind.Stubbed, outcome.Kind);
        var stub = LinuxStubs.Read(path)!;
        Assert.Equal(("zstd", StubFiles.Sha256(original), (long)original.Length), (stub.Codec, stub.Sha256, stub.Length));
        var stored = await _store.GetInfoAsync(stub.Locator, CancellationToken.None);
        Assert.True(stored!.Length < original.Length / 5, $"{stored.Length} bytes stored for {original.Length}");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_state, "spool")));

        await LinuxStubs.RecallAsync(path, _ => _store, CancellationToken.None);
        Assert.Equal(original, await File.ReadAllBytesAsync(path));
        Assert.Null(LinuxStubs.Read(path));
    }

    [Fact]
    public async Task AFileThatChangedSincePlanningOrIsGoneIsSkippedAndLeftAlone()
    {
        var (job, originals) = Job(2);
        await File.AppendAllTextAsync(job.Files[0].Path, "edited");
        File.Delete(job.Files[1].Path);

        var outcomes = await Executor().ExecuteAsync(job, null, CancellationToken.None);

        Assert.Equal([FileOutcomeKind.Skipped, FileOutcomeKind.Skipped], outcomes.Select(o => o.Kind));
        Assert.Contains("changed since it was planned", outcomes[0].Reason, StringComparison.Ordinal);
        Assert.Contains("gone", outcomes[1].Reason, StringComparison.Ordinal);
        await AssertOriginalAsync(job.Files[0].Path, [.. originals[job.Files[0].Path], .. "edited"u8.ToArray()]);
        Assert.Equal(0, _faulty.Puts);
    }

    /// <summary>
    /// tmpfs, XFS and btrfs hold a time before year 1; the scan reads it as year 1, so that is the
    /// time the job plans. The file is tiered, where it was once skipped as changed on every job.
    /// </summary>
    [Fact]
    public async Task AFileWhoseTimeIsBeforeYear1IsTieredAtTheTimeTheScanRead()
    {
        var memory = Directory.CreateDirectory(Path.Combine("/dev/shm", "alto-job-" + Guid.NewGuid().ToString("N"))).FullName;
        try
        {
            var path = Path.Combine(memory, "ancient.bin");
            var original = StubFiles.Write(path, 50_000);
            using (var touch = System.Diagnostics.Process.Start("touch", ["-d", "@-62135596900", path]))
            {
                await touch.WaitForExitAsync();
                Assert.Equal(0, touch.ExitCode);
            }
            Assert.Equal(-62135596900, StubFiles.Stat(path).ModifySeconds);
            var asScanned = DateTimeOffset.MinValue.ToUnixTimeSeconds();
            var job = new TieringJob(Guid.NewGuid(), StubFiles.TenantId, _targetId, new TierTarget("path", _store.Root),
                [new JobFile(1, path, original.Length, asScanned)]);

            var outcome = Assert.Single(await Executor().ExecuteAsync(job, null, CancellationToken.None));

            Assert.Equal(FileOutcomeKind.Stubbed, outcome.Kind);
            Assert.Equal(StubFiles.Sha256(original), LinuxStubs.Read(path)!.Sha256);
        }
        finally
        {
            Directory.Delete(memory, recursive: true);
        }
    }

    [Fact]
    public async Task AFileWrittenToDuringItsUploadIsSkippedWithItsNewBytes()
    {
        var (job, _) = Job(1);
        var path = job.Files[0].Path;
        _faulty.DuringPut = () => File.AppendAllText(path, "late write");

        var outcome = Assert.Single(await Executor().ExecuteAsync(job, null, CancellationToken.None));

        Assert.Equal(FileOutcomeKind.Skipped, outcome.Kind);
        Assert.Contains("changed while it was uploaded", outcome.Reason, StringComparison.Ordinal);
        Assert.Null(LinuxStubs.Read(path));
        Assert.EndsWith("late write", await File.ReadAllTextAsync(path), StringComparison.Ordinal);
    }


    /// <summary>
    /// A program keeps one of the job's files mapped for writing (a memory-mapped array, a
    /// database in write-map mode) and writes through the mapping, also while the job runs. That
    /// file is reported skipped, with why, before a byte of it is uploaded (or it would be uploaded
    /// for nothing at every plan), and keeps every byte; the job's other file is tiered.
    /// </summary>
    [Fact]
    public async Task AFileAnotherProgramHasMappedForWritingIsSkippedUnuploadedAndTheOthersAreTiered()
    {
        var (planned, originals) = Job(2);
        var mapped = planned.Files[0].Path;
        await using var program = await OtherProgram.OpenAsync(mapped, OtherProgram.Opening.Map);
        // Its page written before the plan: the write during the job then finds it dirty and changes no time.
        await program.WriteAsync("written before the plan");
        var job = planned with { Files = [planned.Files[0] with { PlannedModifiedUnix = StubFiles.Stat(mapped).ModifySeconds }, planned.Files[1]] };
        _faulty.BeforePut = _ => program.WriteAsync("written during the job");

        var outcomes = await Executor().ExecuteAsync(job, null, CancellationToken.None);

        var written = (byte[])originals[mapped].Clone();
        "written before the plan"u8.CopyTo(written);
        "written during the job"u8.CopyTo(written);
        await AssertFirstPassedByAndSecondTieredAsync(job, outcomes, FileInUseException.Writing, written, uploads: 1);
    }

    /// <summary>
    /// A program opens the file for writing while it is uploaded, and has written nothing yet when
    /// the upload is verified: it may write at any moment, so the file is not made a stub.
    /// </summary>
    [Fact]
    public async Task AFileOpenedForWritingDuringItsUploadIsSkippedWithItsBytes()
    {
        var (job, originals) = Job(1);
        var path = job.Files[0].Path;
        OtherProgram? program = null;
        _faulty.BeforePut = async _ => program = await OtherProgram.OpenAsync(path, OtherProgram.Opening.Write);
        try
        {
            var outcome = Assert.Single(await Executor().ExecuteAsync(job, null, CancellationToken.None));

            Assert.Equal(FileOutcomeKind.Skipped, outcome.Kind);
            Assert.Equal(FileInUseException.Writing, outcome.Reason);
            Assert.Equal(1, _faulty.Puts);
            await AssertOriginalAsync(path, originals[path]);
            Assert.Empty(_journal.Unfinished());
        }
        finally
        {
            if (program is not null)
            {
                await program.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Another program (a file server for its clients, or a local user) holds a lease on one of
    /// the job's files. An open that would break it waits until the holder gives the file up or
    /// the kernel takes the lease away (45 s by default): the job passes the file by at once
    /// instead, at the agent's read for a write lease, at the release of the data (which needs
    /// the file open for writing) for a read lease, and tiers the others.
    /// </summary>
    [Theory]
    [InlineData(OtherProgram.Opening.WriteLease, 1)]
    [InlineData(OtherProgram.Opening.ReadLease, 2)]
    public async Task AFileAnotherProgramHoldsALeaseOnIsPassedByNotWaitedFor(OtherProgram.Opening lease, int uploads)
    {
        var (job, originals) = Job(2);
        var leased = job.Files[0].Path;
        IReadOnlyList<FileOutcome> outcomes;
        await using (await OtherProgram.OpenAsync(leased, lease))
        {
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            outcomes = await Executor().ExecuteAsync(job, null, quick.Token);
        }

        // Looked at once the holder is gone: the test's own opens would wait on its lease.
        await AssertFirstPassedByAndSecondTieredAsync(job, outcomes, FileInUseException.Leased, originals[leased], uploads);
    }

    /// <summary>
    /// The job's first file was skipped for <paramref name="reason"/> and holds <paramref name="content"/>,
    /// its second is a stub, tier 2 took <paramref name="uploads"/> objects, and nothing is left unfinished.
    /// </summary>
    private async Task AssertFirstPassedByAndSecondTieredAsync(TieringJob job, IReadOnlyList<FileOutcome> outcomes, string reason, byte[] content, int uploads)
    {
        var passedBy = Assert.Single(outcomes, outcome => outcome.TierObjectId == job.Files[0].TierObjectId);
        Assert.Equal((FileOutcomeKind.Skipped, reason), (passedBy.Kind, passedBy.Reason));
        Assert.Equal(uploads, _faulty.Puts);
        await AssertOriginalAsync(job.Files[0].Path, content);
        Assert.Equal(FileOutcomeKind.Stubbed, Assert.Single(outcomes, outcome => outcome.TierObjectId == job.Files[1].TierObjectId).Kind);
        StubFiles.AssertReleased(job.Files[1].Path);
        Assert.Empty(_journal.Unfinished());
    }

    /// <summary>
    /// A crash left two stubbings with their markers written and their data not yet released. A
    /// program has one of the files open for writing meanwhile: recovery rolls that stubbing back
    /// (the file keeps its bytes and is no stub) rather than release data the program may still
    /// write to, and finishes the other.
    /// </summary>
    [Fact]
    public async Task RecoveryRollsBackAStubbingCutShortOfAFileInUseAndFinishesTheOthers()
    {
        var (job, originals) = Job(2);
        var (inUse, idle) = (job.Files[0].Path, job.Files[1].Path);
        foreach (var file in job.Files)
        {
            StoredObject stored;
            await using (var content = File.OpenRead(file.Path))
            {
                stored = await _store.PutAsync(StubFiles.TenantId, content, CancellationToken.None);
            }
            using (var handle = File.OpenHandle(file.Path))
            {
                var fd = LinuxFiles.Fd(handle);
                LinuxStubs.WriteMarkers(handle, new StubInfo(_targetId, stored.Key, stored.Sha256, stored.Length), new StubBinding(LinuxFiles.Stat(fd).Inode, LinuxFiles.Generation(fd)));
            }
            _journal.Append(new JournalEntry(JournalEntry.Tier, file.TierObjectId, file.Path, JournalEntry.Uploaded, _targetId, stored.Key, stored.Sha256));
        }
        await using var program = await OtherProgram.OpenAsync(inUse, OtherProgram.Opening.Write);

        var recovered = JournalRecovery.Recover(_journal, LinuxStubDriver.Instance);

        Assert.Equal([(inUse, false), (idle, true)], recovered.Select(item => (item.Path, item.IsStub)).Order());
        await AssertOriginalAsync(inUse, originals[inUse]);
        StubFiles.AssertReleased(idle);
        Assert.Empty(_journal.Unfinished());
    }

    /// <summary>
    /// Names that are not UTF-8 (Latin-1 here) are files like any other: one is tiered under its own
    /// bytes; the stubbing of the other, cut short by a crash after its markers were written, is
    /// finished by recovery from the journal — which must name it by the same bytes, or recovery
    /// would find no file and leave it a stub whose data was never released, or worse.
    /// </summary>
    [Fact]
    public async Task FilesWhoseNamesAreNotUtf8AreTieredAndTheirCrashedStubbingsRecovered()
    {
        var odd = Path.Combine(_folder, "odd");
        Directory.CreateDirectory(odd);
        try
        {
            var tiered = RawPaths.FromBytes([.. System.Text.Encoding.UTF8.GetBytes(odd + "/caf"), 0xE9, .. ".bin"u8]);
            var crashed = RawPaths.FromBytes([.. System.Text.Encoding.UTF8.GetBytes(odd + "/cr"), 0xE8, .. "me.bin"u8]);
            var original = StubFiles.WriteUnderRawName(tiered, 300_000);
            var crashedOriginal = StubFiles.WriteUnderRawName(crashed, 200_000);
            var job = new TieringJob(Guid.NewGuid(), StubFiles.TenantId, _targetId, new TierTarget("path", _store.Root),
                [new JobFile(1, tiered, original.Length, StubFiles.Stat(tiered).ModifySeconds)]);

            var outcome = Assert.Single(await Executor().ExecuteAsync(job, null, CancellationToken.None));

            Assert.Equal(FileOutcomeKind.Stubbed, outcome.Kind);
            Assert.Equal(StubFiles.Sha256(original), LinuxStubs.Peek(tiered)?.Sha256);
            Assert.Equal(StubFiles.Sha256(original), await Sha256Check.OfObjectAsync(_store, outcome.Locator!, CancellationToken.None));
            StubFiles.AssertReleased(tiered);

            StoredObject stored;
            using (var handle = LinuxFiles.OpenByPath(crashed, FileAccess.Read))
            {
                await using (var content = new FileStream(FileHandles.Borrow(handle), FileAccess.Read))
                {
                    stored = await _store.PutAsync(StubFiles.TenantId, content, CancellationToken.None);
                }
                var fd = LinuxFiles.Fd(handle);
                LinuxStubs.WriteMarkers(handle, new StubInfo(_targetId, stored.Key, stored.Sha256, stored.Length), new StubBinding(LinuxFiles.Stat(fd).Inode, LinuxFiles.Generation(fd)));
            }
            _journal.Append(new JournalEntry(JournalEntry.Tier, 2, crashed, JournalEntry.Uploaded, _targetId, stored.Key, stored.Sha256));

            var recovered = JournalRecovery.Recover(_journal, LinuxStubDriver.Instance);

            Assert.Equal([(crashed, true)], recovered.Select(item => (item.Path, item.IsStub)));
            Assert.Equal(StubFiles.Sha256(crashedOriginal), LinuxStubs.Peek(crashed)?.Sha256);
            StubFiles.AssertReleased(crashed);
            Assert.Empty(_journal.Unfinished());
        }
        finally
        {
            StubFiles.RemoveTree(odd);
        }
    }

    /// <summary>
    /// Two names of one file (hard links) in one job, side by side: the second upload reaches the
    /// file only once the first name made it a stub. Read then, it would be the holes (the agent's
    /// own reads never recall). The second name must find the stub the first one made, and report
    /// it, with no upload of its own.
    /// </summary>
    [Fact]
    public async Task TwoNamesOfOneFileInOneJobShareOneStubOfTheRealBytes()
    {
        var (first, second, original) = await StubFiles.HardLinkedAsync(_folder, "monday", "tuesday", 400_000);
        var modified = StubFiles.Stat(first).ModifySeconds;
        var job = new TieringJob(Guid.NewGuid(), StubFiles.TenantId, _targetId, new TierTarget("path", _store.Root),
            [new JobFile(1, first, original.Length, modified), new JobFile(2, second, original.Length, modified)]);
        _faulty.BeforePut = async number =>
        {
            if (number < 2)
            {
                return;
            }
            for (var waited = 0; waited < 500 && (LinuxStubs.Peek(first) is null || HasData(first)); waited++)
            {
                await Task.Delay(10);
            }
        };

        var outcomes = await Executor().ExecuteAsync(job, null, CancellationToken.None);

        var stub = LinuxStubs.Read(first)!;
        Assert.Equal(StubFiles.Sha256(original), stub.Sha256);
        Assert.All(outcomes, outcome => Assert.Equal((FileOutcomeKind.Stubbed, stub.Locator, stub.Sha256), (outcome.Kind, outcome.Locator, outcome.Sha256)));
        Assert.Equal(1, _faulty.Puts);
        StubFiles.AssertReleased(second);
        Assert.Equal(stub, await LinuxStubs.RecallAsync(second, _ => _store, CancellationToken.None));
        Assert.Equal(original, await File.ReadAllBytesAsync(first));
        Assert.Empty(_journal.Unfinished());
    }

    private static bool HasData(string path)
    {
        using var handle = File.OpenHandle(path);
        return LinuxFiles.HasData(handle);
    }
    [Fact]
    public async Task AHashMismatchKeepsTheOriginal()
    {
        var (job, originals) = Job(1);
        _faulty.CorruptReads = true;

        var outcome = Assert.Single(await Executor().ExecuteAsync(job, null, CancellationToken.None));

        Assert.Equal(FileOutcomeKind.Failed, outcome.Kind);
        Assert.Contains("hash mismatch", outcome.Reason, StringComparison.Ordinal);
        await AssertOriginalAsync(job.Files[0].Path, originals[job.Files[0].Path]);
        Assert.Empty(_journal.Unfinished());
    }

    [Fact]
    public async Task AnUnreachableTierTwoIsRetriedThreeTimesThenReportedWithTheFileKept()
    {
        var (job, originals) = Job(1);
        _faulty.UnreachablePuts = JobExecutor.Attempts;

        var outcome = Assert.Single(await Executor().ExecuteAsync(job, null, CancellationToken.None));

        Assert.Equal(FileOutcomeKind.Unavailable, outcome.Kind);
        Assert.Equal(JobExecutor.Attempts, _faulty.Puts);
        await AssertOriginalAsync(job.Files[0].Path, originals[job.Files[0].Path]);

        // Back after two failed attempts: the third one stubs the file.
        _faulty.UnreachablePuts = JobExecutor.Attempts - 1;
        var retried = Assert.Single(await Executor().ExecuteAsync(job, null, CancellationToken.None));
        Assert.Equal(FileOutcomeKind.Stubbed, retried.Kind);
        Assert.Equal(2 * JobExecutor.Attempts, _faulty.Puts);
    }

    [Fact]
    public async Task OnceAFileFindsTierTwoUnreachableTheFilesNotStartedAreNotTried()
    {
        var (job, originals) = Job(6);
        _faulty.UnreachablePuts = int.MaxValue;

        var outcomes = await Executor().ExecuteAsync(job, null, CancellationToken.None);

        Assert.All(outcomes, outcome => Assert.Equal(FileOutcomeKind.Unavailable, outcome.Kind));
        // Only the files already under way when the first gave up were tried, each with all its attempts.
        Assert.InRange(_faulty.Puts, JobExecutor.Attempts, JobExecutor.Attempts * JobExecutor.Parallelism);
        Assert.Contains(outcomes, outcome => outcome.Reason == "not tried: tier 2 could not be reached for another file of this job");
        foreach (var (path, original) in originals)
        {
            await AssertOriginalAsync(path, original);
        }
        Assert.Empty(_journal.Unfinished());
    }

    [Theory]
    [InlineData(28, "No space left on device")]
    [InlineData(30, "Read-only file system")]
    public async Task ATierTwoThatRefusesWritesFailsEachFileWithItsReasonAndKeepsTheOriginals(int errno, string message)
    {
        var (job, originals) = Job(2);
        _faulty.PutFailure = () => new IOException($"{message} : '/mnt/tier2/incoming/x'", errno);

        var outcomes = await Executor().ExecuteAsync(job, null, CancellationToken.None);

        Assert.All(outcomes, outcome =>
        {
            Assert.Equal(FileOutcomeKind.Failed, outcome.Kind);
            Assert.StartsWith("writing to tier 2 failed: " + message, outcome.Reason, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', outcome.Reason!);
        });
        foreach (var file in job.Files)
        {
            await AssertOriginalAsync(file.Path, originals[file.Path]);
        }
        Assert.Empty(_journal.Unfinished());
    }

    [Fact]
    public async Task WhenTierTwoCannotFlushTheBatchNoFileOfItIsReleased()
    {
        var (job, originals) = Job(5);
        _faulty.FlushFailure = () => new IOException("Input/output error : '/mnt/tier2' (injected at fsync)", 5);

        var outcomes = await Executor().ExecuteAsync(job, null, CancellationToken.None);

        Assert.All(outcomes, outcome =>
        {
            Assert.Equal(FileOutcomeKind.Failed, outcome.Kind);
            Assert.StartsWith("writing to tier 2 failed: Input/output error", outcome.Reason, StringComparison.Ordinal);
        });
        foreach (var file in job.Files)
        {
            await AssertOriginalAsync(file.Path, originals[file.Path]);
        }
        Assert.Empty(_journal.Unfinished());
    }

    [Fact]
    public async Task AJobCancelledMidwayReportsNothingAndLeavesEachFileOriginalOrAValidStub()
    {
        var (job, originals) = Job(6);
        using var cancel = new CancellationTokenSource();

        // Cancelled as the first outcome comes in: the rest of the job is cut short somewhere.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Executor().ExecuteAsync(job, _ => cancel.Cancel(), cancel.Token));

        foreach (var file in job.Files)
        {
            if (LinuxStubs.Read(file.Path) is { } stub)
            {
                StubFiles.AssertReleased(file.Path);
                Assert.Equal(StubFiles.Sha256(originals[file.Path]), await Sha256Check.OfObjectAsync(_store, stub.Locator, CancellationToken.None));
            }
            else
            {
                await AssertOriginalAsync(file.Path, originals[file.Path]);
            }
        }
    }

    [Fact]
    public async Task AFailureAfterTheStubWasMadeReportsTheStubAndOneBeforeKeepsTheOriginal()
    {
        var (job, originals) = Job(2);
        var after = job.Files[0].Path;
        var before = job.Files[1].Path;
        var stubs = new HookedStubDriver(
            beforeStub: path => { if (path == before) { throw new IOException("injected before the stub"); } },
            afterStub: path => { if (path == after) { throw new IOException("injected after the stub"); } });
        var executor = new JobExecutor(_journal, stubs, NullLogger.Instance, TimeSpan.FromMilliseconds(5), _ => _faulty);

        var outcomes = await executor.ExecuteAsync(job, null, CancellationToken.None);

        Assert.Equal(FileOutcomeKind.Stubbed, outcomes[0].Kind);
        Assert.Equal(LinuxStubs.Read(after)!.Locator, outcomes[0].Locator);
        StubFiles.AssertReleased(after);
        Assert.Equal(FileOutcomeKind.Failed, outcomes[1].Kind);
        Assert.StartsWith("making the stub failed: injected", outcomes[1].Reason, StringComparison.Ordinal);
        await AssertOriginalAsync(before, originals[before]);
        Assert.Empty(_journal.Unfinished());
    }

    [Fact]
    public async Task AFileWhereRecallIsNotArmedIsRefusedUntouchedAndTheOthersGoOn()
    {
        var (job, originals) = Job(2);
        var unarmed = job.Files[0].Path;
        var executor = new JobExecutor(_journal, LinuxStubDriver.Instance, NullLogger.Instance, TimeSpan.FromMilliseconds(5), _ => _faulty,
            refusal: path => path == unarmed ? "recall on open is not armed for this file's file system" : null);

        var outcomes = await executor.ExecuteAsync(job, null, CancellationToken.None);

        Assert.Equal(FileOutcomeKind.Refused, outcomes[0].Kind);
        Assert.StartsWith("recall on open is not armed", outcomes[0].Reason, StringComparison.Ordinal);
        await AssertOriginalAsync(unarmed, originals[unarmed]);
        Assert.Equal(FileOutcomeKind.Stubbed, outcomes[1].Kind);
        Assert.Equal(1, _faulty.Puts);
    }

    /// <summary>
    /// Tiered to a mounted file system the file is copied inside the kernel and then compared with
    /// a read of its own: stubbed when the two agree, and kept whole when a write landed between the
    /// copy and the compare (the bytes on tier 2 are not the file's any more).
    /// </summary>
    [Fact]
    public async Task AFileCopiedInTheKernelIsComparedWithItselfBeforeItBecomesAStub()
    {
        _faulty.CopiesFiles = true;
        var (job, originals) = Job(2, size: 300_000);
        var changed = job.Files[1].Path;
        var first = Assert.Single(await Executor().ExecuteAsync(job with { Files = [job.Files[0]] }, null, CancellationToken.None));
        Assert.Equal(FileOutcomeKind.Stubbed, first.Kind);
        Assert.Equal(StubFiles.Sha256(originals[job.Files[0].Path]), first.Sha256);
        StubFiles.AssertReleased(job.Files[0].Path);
        Assert.Equal(originals[job.Files[0].Path], await File.ReadAllBytesAsync(Path.Combine(_store.Root, first.Locator!)));

        // The user's write, after the kernel copied the file and before the agent compared it.
        var written = (byte[])originals[changed].Clone();
        written[123] ^= 0x11;
        _faulty.AfterCopy = () =>
        {
            using var file = File.OpenHandle(changed, FileMode.Open, FileAccess.Write);
            RandomAccess.Write(file, written.AsSpan(123, 1), 123);
        };
        var second = Assert.Single(await Executor().ExecuteAsync(job with { Files = [job.Files[1]] }, null, CancellationToken.None));

        Assert.Equal(FileOutcomeKind.Failed, second.Kind);
        Assert.Contains("hash mismatch", second.Reason, StringComparison.Ordinal);
        await AssertOriginalAsync(changed, written);
        Assert.Equal(2, _faulty.Puts);
        Assert.Empty(_journal.Unfinished());
    }

    /// <summary>
    /// A local user who wins the race between the agent's check of a path and its open: the folder
    /// passes the volume check, is swapped for a link out of the volume at once, and the open lands
    /// on a file of the same name, size and time outside it. The file the open reached is judged
    /// again, refused, and neither read, uploaded nor made a stub.
    /// </summary>
    [Fact]
    public async Task AFolderSwappedForALinkRightAfterTheCheckIsCaughtByWhereTheOpenLed()
    {
        var inside = Directory.CreateDirectory(Path.Combine(_folder, "projects")).FullName;
        var planned = Path.Combine(inside, "payroll.db");
        StubFiles.Write(planned, 50_000);
        var times = StubFiles.Stat(planned);
        var outside = Directory.CreateTempSubdirectory("alto-job-outside-").FullName;
        try
        {
            var secret = Path.Combine(outside, "payroll.db");
            var secretBytes = StubFiles.Write(secret, 50_000);
            File.SetLastWriteTimeUtc(secret, File.GetLastWriteTimeUtc(planned));
            var job = new TieringJob(Guid.NewGuid(), StubFiles.TenantId, _targetId, new TierTarget("path", _store.Root),
                [new JobFile(1, planned, 50_000, times.ModifySeconds)]);
            var checks = new List<string>();
            string? Refusal(string path)
            {
                var verdict = Connection.VolumeScope.Refusal(path, [_folder]);
                if (checks.Count == 0)
                {
                    // The user's move, right after the agent's first look.
                    Directory.Move(inside, inside + ".away");
                    Directory.CreateSymbolicLink(inside, outside);
                }
                checks.Add(path);
                return verdict;
            }
            var executor = new JobExecutor(_journal, LinuxStubDriver.Instance, NullLogger.Instance, TimeSpan.FromMilliseconds(5), _ => _faulty, refusal: Refusal);

            var outcome = Assert.Single(await executor.ExecuteAsync(job, null, CancellationToken.None));

            Assert.Equal(FileOutcomeKind.Refused, outcome.Kind);
            Assert.Contains($"reached {secret}", outcome.Reason, StringComparison.Ordinal);
            Assert.Contains("not below any of this host's volumes", outcome.Reason, StringComparison.Ordinal);
            Assert.Equal([planned, secret], checks);
            await AssertOriginalAsync(secret, secretBytes);
            Assert.Equal(0, _faulty.Puts);
            Assert.Empty(_journal.Unfinished());
        }
        finally
        {
            Directory.Delete(outside, true);
        }
    }

    /// <summary>
    /// A path target whose folder an admin put inside a tiered volume: its objects are scanned as
    /// files and, once cold, planned like any other. Tiering one (from a compressed target, a new
    /// object and a stub) would leave the file it belongs to reading its object as holes; it is refused.
    /// </summary>
    [Fact]
    public async Task AnObjectOfTheTargetsOwnFolderInsideTheVolumeIsNeverTieredItself()
    {
        var inside = new PathTierStore(Path.Combine(_folder, "tier2"));
        var target = new TierTarget("path", inside.Root, Compression: "zstd");
        var (job, originals) = Job(1);
        Assert.Equal(FileOutcomeKind.Stubbed, Assert.Single(await Executor(inside).ExecuteAsync(job with { Target = target }, null, CancellationToken.None)).Kind);
        var objectFile = Assert.Single(Directory.GetFiles(inside.Root, "*", SearchOption.AllDirectories));
        var objectBytes = await File.ReadAllBytesAsync(objectFile);

        var outcome = Assert.Single(await Executor(inside).ExecuteAsync(
            job with { Target = target, Files = [new JobFile(7, objectFile, objectBytes.Length, StubFiles.Stat(objectFile).ModifySeconds)] }, null, CancellationToken.None));

        Assert.Equal(FileOutcomeKind.Refused, outcome.Kind);
        Assert.Equal($"the file is inside the target's own tier-2 folder ({inside.Root}): it is one of tier 2's objects, never tiered itself; the file is kept as it is", outcome.Reason);
        Assert.Null(LinuxStubs.Read(objectFile));
        Assert.Equal(objectBytes, await File.ReadAllBytesAsync(objectFile));
        var path = job.Files[0].Path;
        await LinuxStubs.RecallAsync(path, _ => inside, CancellationToken.None);
        Assert.Equal(originals[path], await File.ReadAllBytesAsync(path));
    }

    /// <summary>
    /// A local user puts something else where a planned file was, after the scan: a pipe (whose
    /// open would wait for a writer for ever, and the job with it), a link to a device (whose open
    /// has effects of its own; /dev/zero stands in for a watchdog or a tape) and a link to another
    /// file of the volume. None is opened; each is refused, and the job goes on to its real file.
    /// </summary>
    [Fact]
    public async Task APipeOrALinkPutWhereAPlannedFileWasIsRefusedUnopenedAndTheJobGoesOn()
    {
        var (job, originals) = Job(4);
        var (pipe, device, link, real) = (job.Files[0].Path, job.Files[1].Path, job.Files[2].Path, job.Files[3].Path);
        foreach (var path in new[] { pipe, device, link })
        {
            File.Delete(path);
        }
        Assert.Equal(0, (await StubFiles.ShellAsync($"mkfifo '{pipe}'")).ExitCode);
        File.CreateSymbolicLink(device, "/dev/zero");
        File.CreateSymbolicLink(link, real);

        var run = Executor().ExecuteAsync(job, null, CancellationToken.None);
        if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30))) != run)
        {
            // Its open waits in the kernel, deaf to cancellation: a writer lets it go, so the run ends.
            await StubFiles.ShellAsync($"echo > '{pipe}'");
            await run;
            Assert.Fail("the agent opened the pipe and waited for a writer");
        }
        var outcomes = await run;

        Assert.Equal([FileOutcomeKind.Refused, FileOutcomeKind.Refused, FileOutcomeKind.Refused, FileOutcomeKind.Stubbed], outcomes.Select(outcome => outcome.Kind));
        Assert.StartsWith("it is not a regular file (a pipe, socket, device or folder is where the file was)", outcomes[0].Reason, StringComparison.Ordinal);
        Assert.All(outcomes.Skip(1).Take(2), outcome =>
            Assert.Equal("a symbolic link is where the file was; the agent does not follow it; the file is kept as it is", outcome.Reason));
        Assert.Equal(1, _faulty.Puts);
        Assert.Equal(StubFiles.Sha256(originals[real]), LinuxStubs.Read(real)!.Sha256);
        Assert.Empty(_journal.Unfinished());
    }
}
