using System.Text;
using Alto.Agent.Jobs;
using Alto.Agent.Reconcile;
using Alto.Agent.Stubs;
using Alto.Agent.Stubs.Windows;
using Alto.Tiering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Tests.Stubs;

/// <summary>The Windows stub driver's logic against a stand-in of the CloudTier driver (see <see cref="CloudTierStandIn"/>).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Trait("Layer", "Unit")]
public sealed class CloudTierStubDriverTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("alto-cloudtier-").FullName;
    private readonly PathTierStore _store = new(Directory.CreateTempSubdirectory("alto-cloudtier-tier2-").FullName);
    private readonly CloudTierStandIn _driver = new();
    private readonly Guid _targetId = Guid.NewGuid();
    private readonly CloudTierStubDriver _stubs;

    public CloudTierStubDriverTests()
    {
        _stubs = new CloudTierStubDriver(_driver, id => id == _targetId ? _store : throw new TierStoreUnavailableException("unreachable"),
            Path.Combine(_folder, "cache"));
        _stubs.Connect();
    }

    public void Dispose()
    {
        _stubs.Disconnect();
        Directory.Delete(_folder, true);
        Directory.Delete(_store.Root, true);
    }

    private async Task<(string Path, byte[] Original, StubInfo Stub)> StubAsync(string name, int size, Guid? targetId = null, bool compress = false)
    {
        var path = Path.Combine(_folder, name);
        var original = StubFiles.Write(path, size);
        byte[] content = original;
        if (compress)
        {
            using var compressor = new ZstdSharp.Compressor();
            content = compressor.Wrap(original).ToArray();
        }
        var stored = await _store.PutAsync(StubFiles.TenantId, new MemoryStream(content), CancellationToken.None);
        var stub = new StubInfo(targetId ?? _targetId, stored.Key, StubFiles.Sha256(original), original.Length) { Codec = compress ? "zstd" : null };
        _stubs.MakeStub(path, stub, Snapshot(path));
        return (path, original, stub);
    }

    private FileTimes Snapshot(string path)
    {
        using var file = File.OpenHandle(path);
        return _stubs.Snapshot(file);
    }

    /// <summary>
    /// The census of a host whose stubs the driver keeps (Windows): each path is answered from the
    /// driver's tag without a restore — a stub with its markers, a real file, nothing, a folder, a
    /// link (not followed), a path the volume rules refuse (not looked at), a name escaped as bytes.
    /// </summary>
    [Fact]
    public async Task TheCensusReadsEachStubsMarkersFromTheDriverWithoutRestoringIt()
    {
        var (stubbed, _, stub) = await StubAsync("stubbed.bin", 50_000);
        var plain = Path.Combine(_folder, "plain.bin");
        StubFiles.Write(plain, 1_000);
        var folder = Directory.CreateDirectory(Path.Combine(_folder, "folder")).FullName;
        var link = Path.Combine(_folder, "link.bin");
        File.CreateSymbolicLink(link, stubbed);
        var outside = Path.Combine(_folder, "outside.bin");
        string? Scope(string path) => path == outside ? $"{path} is not below any of this host's volumes" : null;

        var found = new[] { stubbed, plain, Path.Combine(_folder, "gone.bin"), folder, link, outside }
            .Select(path => DriverStubCensus.Look(_stubs, path, Scope)).ToList();

        Assert.Equal(new StubFactPart(stubbed, "stub", stub.Locator, stub.Sha256, stub.TargetId, null), found[0]);
        Assert.Equal(["stub", "file", "absent", "unreadable", "unreadable", "unreadable"], found.Select(fact => fact.Found));
        Assert.Contains("folder", found[3].Detail, StringComparison.Ordinal);
        Assert.Contains("link", found[4].Detail, StringComparison.Ordinal);
        Assert.StartsWith("not looked at: ", found[5].Detail, StringComparison.Ordinal);
        Assert.True(_driver.IsStub(stubbed), "looking restored the stub");
        var escaped = DriverStubCensus.NotLookedAtEscaped(@"/data/caf\xE9.txt");
        Assert.Equal((@"/data/caf\xE9.txt", "unreadable", true), (escaped.Path, escaped.Found, escaped.PathEscaped));
    }

    [Fact]
    public async Task AStubKeepsSizeAndTimesAndAProgramReadsTheOriginalThroughARestoredCacheFile()
    {
        var path = Path.Combine(_folder, "report.pdf");
        StubFiles.Write(path, 300_000);
        var before = (File.GetLastWriteTimeUtc(path), File.GetLastAccessTimeUtc(path));
        var (_, original, stub) = await StubAsync("report.pdf", 300_000);
        Assert.True(_driver.IsStub(path));
        Assert.Equal(original.Length, new FileInfo(path).Length);
        Assert.Equal(before, (File.GetLastWriteTimeUtc(path), File.GetLastAccessTimeUtc(path)));
        Assert.Equal(stub, _stubs.Peek(path));
        Assert.Equal(stub, CloudTierStubDriver.DecodeTag(_driver.Tag(path)));

        Assert.Equal(original, await _driver.ReadAsProgramAsync(path));
        Assert.False(_driver.IsStub(path));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_folder, "cache")));
    }

    [Fact]
    public async Task ABlockIsServedFromARangeReadAndTheFileStaysAStub()
    {
        var (path, original, _) = await StubAsync("clip.mp4", 200_000);

        var reply = await _driver.ReadBlockAsProgramAsync(path, 65_536, 4096);

        Assert.Equal((CloudTierProtocol.StatusSuccess, CloudTierProtocol.BlockDataWasReturned), (reply.ReturnStatus, reply.FilterStatus));
        Assert.Equal(original.AsSpan(65_536, 4096).ToArray(), reply.Data);
        Assert.True(_driver.IsStub(path));
    }

    [Fact]
    public async Task ACompressedObjectIsRestoredWholeAndVerified()
    {
        var (path, original, _) = await StubAsync("log.txt", 100_000, compress: true);

        var reply = await _driver.ReadBlockAsProgramAsync(path, 0, 4096);
        Assert.Equal(CloudTierProtocol.CacheFileWasReturned | CloudTierProtocol.RehydrateFileViaCacheFile, reply.FilterStatus);
        File.Delete(Encoding.Unicode.GetString(reply.Data).TrimEnd('\0'));

        Assert.Equal(original, await _driver.ReadAsProgramAsync(path));
    }

    [Fact]
    public async Task WhenTierTwoFailsTheProgramsReadFailsAndTheStubStays()
    {
        var (unreachable, _, _) = await StubAsync("far.bin", 10_000, targetId: Guid.NewGuid());
        await Assert.ThrowsAsync<IOException>(() => _driver.ReadAsProgramAsync(unreachable));
        Assert.True(_driver.IsStub(unreachable));

        var (damaged, _, stub) = await StubAsync("damaged.bin", 10_000);
        var objectPath = Path.Combine(_store.Root, stub.Locator);
        var bytes = await File.ReadAllBytesAsync(objectPath);
        bytes[5] ^= 0xff;
        await File.WriteAllBytesAsync(objectPath, bytes);
        await Assert.ThrowsAsync<IOException>(() => _driver.ReadAsProgramAsync(damaged));
        Assert.True(_driver.IsStub(damaged));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_folder, "cache")));
    }

    /// <summary>
    /// A tier 2 that takes the connection and then sends nothing (the real S3 client, a silent
    /// endpoint): the program reading a stub gets an error once tier 2 has been silent for the
    /// stall limit (here 2 s), whole or by blocks, and the file stays a stub — it waited for the
    /// client's timeouts and retries before, minutes.
    /// </summary>
    [Fact]
    public async Task WhenTierTwoStopsAnsweringTheProgramsReadFailsWithinTheStallLimitAndTheStubStays()
    {
        using var silent = SilentTierTwo.Silent();
        var standIn = new CloudTierStandIn();
        var stubs = new CloudTierStubDriver(standIn, _ => silent.Store, Path.Combine(_folder, "silent-cache"), stallLimit: TimeSpan.FromSeconds(2));
        stubs.Connect();
        try
        {
            var path = Path.Combine(_folder, "held.bin");
            var original = StubFiles.Write(path, 200_000);
            using (var file = File.OpenHandle(path))
            {
                stubs.MakeStub(path, new StubInfo(_targetId, $"t/{StubFiles.Sha256(original)}", StubFiles.Sha256(original), original.Length), stubs.Snapshot(file));
            }
            var clock = System.Diagnostics.Stopwatch.StartNew();

            await Assert.ThrowsAsync<IOException>(() => standIn.ReadAsProgramAsync(path).WaitAsync(TimeSpan.FromSeconds(60)));
            var block = await standIn.ReadBlockAsProgramAsync(path, 4096, 4096).WaitAsync(TimeSpan.FromSeconds(60));

            Assert.NotEqual(CloudTierProtocol.StatusSuccess, block.ReturnStatus);
            // Two reads, each given up after the 2 s limit; the limit's timer may fire a tick (~1 ms) before this clock says 2 s (seen: 3.9996 s).
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(4) - TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(30));
            Assert.True(standIn.IsStub(path));
        }
        finally
        {
            stubs.Disconnect();
        }
    }

    [Fact]
    public async Task AFileChangedAfterItWasReadIsNotMadeAStub()
    {
        var path = Path.Combine(_folder, "draft.docx");
        StubFiles.Write(path, 5_000);
        var readAt = Snapshot(path);
        var stub = new StubInfo(_targetId, "unused", StubFiles.Sha256(await File.ReadAllBytesAsync(path)), 5_000);
        await File.AppendAllTextAsync(path, "more");

        Assert.Throws<FileChangedException>(() => _stubs.MakeStub(path, stub, readAt));
        Assert.False(_driver.IsStub(path));
    }

    /// <summary>The job executor, the recall runner and recovery are the Linux agent's own, run through the Windows adapter.</summary>
    [Fact]
    public async Task TheSharedJobExecutorRecallRunnerAndRecoveryWorkThroughTheAdapter()
    {
        var state = Path.Combine(_folder, "state");
        using var journal = new OperationJournal(state);
        var files = new List<JobFile>();
        var originals = new Dictionary<string, byte[]>();
        for (var i = 0; i < 3; i++)
        {
            var path = Path.Combine(_folder, $"cold{i}.bin");
            originals[path] = StubFiles.Write(path, 40_000 + i);
            files.Add(new JobFile(i + 1, path, 40_000 + i, Snapshot(path).ModifySeconds));
        }
        var job = new TieringJob(Guid.NewGuid(), StubFiles.TenantId, _targetId, new TierTarget("path", _store.Root), files);
        var executor = new JobExecutor(journal, _stubs, NullLogger.Instance, openStore: _ => _store);

        var outcomes = await executor.ExecuteAsync(job, null, CancellationToken.None);
        Assert.All(outcomes, outcome => Assert.Equal(FileOutcomeKind.Stubbed, outcome.Kind));
        foreach (var (outcome, file) in outcomes.Zip(files))
        {
            Assert.True(_driver.IsStub(file.Path));
            Assert.Equal((outcome.Locator, StubFiles.Sha256(originals[file.Path])), (_stubs.Peek(file.Path)!.Locator, outcome.Sha256));
        }
        Assert.Equal(outcomes, await executor.ExecuteAsync(job, null, CancellationToken.None));

        // A tiering cut short after its verified upload: the stub stands.
        journal.Append(new JournalEntry(JournalEntry.Tier, 1, files[0].Path, JournalEntry.Uploaded, _targetId, outcomes[0].Locator, outcomes[0].Sha256));
        Assert.True(Assert.Single(JournalRecovery.Recover(journal, _stubs)).IsStub);

        var recalled = await new RecallRunner(journal, _stubs, _ => _store, NullLogger.Instance).RecallAsync(files.Select(file => file.Path), CancellationToken.None);
        Assert.All(recalled, outcome => Assert.Null(outcome.Error));
        foreach (var file in files)
        {
            Assert.False(_driver.IsStub(file.Path));
            Assert.Equal(originals[file.Path], await File.ReadAllBytesAsync(file.Path));
        }
    }
}
