using System.Diagnostics;
using System.Runtime.Versioning;
using Alto.Agent.Jobs;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.TestSupport;
using Alto.Tiering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// A folder target whose share stopped answering, made real: tier 2 is a loop-mounted ext4 frozen
/// with <c>fsfreeze</c>, where a create, a write or a flush blocks in the kernel, uninterruptibly,
/// until the thaw — as on an NFS hard mount whose server is gone. A job must end, report tier 2
/// unavailable and keep every original; a slow share that keeps moving must not be cut short.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class HungTierTwoTests : IDisposable
{
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(2);

    /// <summary>Longer than any outcome here may take; past it the test thaws tier 2 (so that nothing stays hung) and fails.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);

    private readonly ScratchFileSystem _tier2 = ScratchFileSystem.TryCreate(out var whyNot, megabytes: 64) ?? throw new InvalidOperationException(whyNot);
    private readonly string _folder = Directory.CreateTempSubdirectory("alto-hung-").FullName;
    private readonly string _state = Directory.CreateTempSubdirectory("alto-hung-state-").FullName;

    public void Dispose()
    {
        Directory.Delete(_folder, true);
        Directory.Delete(_state, true);
        _tier2.Dispose();
    }

    [Fact]
    public async Task AJobWhoseShareStopsAnsweringEndsUnavailableWithEveryOriginalKeptAndTiersOnceItIsBack()
    {
        var store = new PathTierStore(_tier2.Root, stallLimit: Stall);
        using var journal = new OperationJournal(_state);
        var executor = new JobExecutor(journal, LinuxStubDriver.Instance, NullLogger.Instance, TimeSpan.FromMilliseconds(5), _ => store);
        var originals = new Dictionary<string, byte[]>();
        var files = new List<JobFile>();
        for (var i = 0; i < 5; i++)
        {
            var path = Path.Combine(_folder, $"f{i}.bin");
            originals[path] = StubFiles.Write(path, 300_000 + i);
            files.Add(new JobFile(i + 1, path, originals[path].Length, StubFiles.Stat(path).ModifySeconds));
        }
        var job = new TieringJob(Guid.NewGuid(), StubFiles.TenantId, Guid.NewGuid(), new TierTarget("path", _tier2.Root), files);

        IReadOnlyList<FileOutcome> outcomes;
        await using (var frozen = await FrozenFileSystem.FreezeAsync(_tier2.Root))
        {
            var running = executor.ExecuteAsync(job, null, CancellationToken.None);
            if (await Task.WhenAny(running, Task.Delay(Patience)) != running)
            {
                await frozen.DisposeAsync();
                await running;
                Assert.Fail($"the job was still waiting on the frozen tier 2 after {Patience.TotalSeconds} s");
            }
            outcomes = await running;
        }

        Assert.All(outcomes, outcome =>
        {
            Assert.Equal(FileOutcomeKind.Unavailable, outcome.Kind);
            Assert.Contains("tier 2 could not be reached", outcome.Reason, StringComparison.Ordinal);
        });
        Assert.Contains(outcomes, outcome => outcome.Reason!.Contains($"tier 2's folder {_tier2.Root} made no progress for 2 s while copying a file to it", StringComparison.Ordinal));
        foreach (var (path, original) in originals)
        {
            Assert.Null(LinuxStubs.Read(path));
            Assert.Equal(original, await File.ReadAllBytesAsync(path));
        }
        Assert.Empty(journal.Unfinished());

        // Thawed, the calls given up on end by themselves; then the same job tiers every file, each object the file's bytes.
        await WhenAnsweringAsync(() => store.GetInfoAsync("any", CancellationToken.None));
        var again = await executor.ExecuteAsync(job, null, CancellationToken.None);
        Assert.All(again, outcome => Assert.Equal(FileOutcomeKind.Stubbed, outcome.Kind));
        foreach (var (outcome, file) in again.Zip(job.Files))
        {
            Assert.Equal(StubFiles.Sha256(originals[file.Path]), await Sha256Check.OfObjectAsync(store, outcome.Locator!, CancellationToken.None));
            StubFiles.AssertReleased(file.Path);
        }
    }

    [Fact]
    public async Task AWriteGivenUpOnMakesLaterCallsFailAtOnceUntilItHasEnded()
    {
        var store = new PathTierStore(_tier2.Root, stallLimit: Stall);
        // The store's folders exist already: the write itself is what waits.
        var first = await store.PutUnflushedAsync(StubFiles.TenantId, new MemoryStream([1]), CancellationToken.None);

        await using (var frozen = await FrozenFileSystem.FreezeAsync(_tier2.Root))
        {
            var watch = Stopwatch.StartNew();
            var writing = store.PutUnflushedAsync(StubFiles.TenantId, new MemoryStream(new byte[100_000]), CancellationToken.None);
            if (await Task.WhenAny(writing, Task.Delay(Patience)) != writing)
            {
                await frozen.DisposeAsync();
                Assert.Fail($"the write was still waiting on the frozen tier 2 after {Patience.TotalSeconds} s");
            }
            var givenUp = await Assert.ThrowsAsync<TierStoreUnavailableException>(() => writing);
            Assert.Contains($"tier 2's folder {_tier2.Root} made no progress for 2 s while writing an object", givenUp.Message, StringComparison.Ordinal);
            Assert.InRange(watch.Elapsed, Stall, Patience);

            // While the write given up on still waits in the kernel, another write does not join it there.
            watch.Restart();
            var still = await Assert.ThrowsAsync<TierStoreUnavailableException>(() => store.DeleteAsync(first.Key, CancellationToken.None));
            Assert.Contains($"tier 2's folder {_tier2.Root} is still not answering: a call given up 0 s ago has not returned", still.Message, StringComparison.Ordinal);
            Assert.True(watch.Elapsed < Stall, $"the call waited {watch.Elapsed} instead of failing at once");
            // A read goes on: a frozen file system (a snapshot being taken) serves reads, and a recall gets its data.
            Assert.Equal([1], await ReadAllAsync(store, first.Key));
            Assert.NotNull(await store.GetInfoAsync(first.Key, CancellationToken.None));
        }

        var after = await WhenAnsweringAsync(() => store.PutAsync(StubFiles.TenantId, new MemoryStream([7, 7]), CancellationToken.None));
        Assert.Equal(2, after.Length);
    }

    [Fact]
    public async Task AReadWhileAWriteIsStuckWaitsForAShareFailingOverAndGetsItsData()
    {
        await using var share = await PausableShare.StartAsync();
        var store = new PathTierStore(share.Root, stallLimit: Stall);
        var kept = await store.PutAsync(StubFiles.TenantId, new MemoryStream([1, 2, 3]), CancellationToken.None);
        share.Pause();
        await Assert.ThrowsAsync<TierStoreUnavailableException>(() => store.PutAsync(StubFiles.TenantId, new MemoryStream(new byte[100_000]), CancellationToken.None));

        // A recall opens and reads while the write given up on still waits: it waits too, within its own limit, as on a hard mount.
        var reading = ReadAllAsync(store, kept.Key);
        await Task.Delay(Stall / 4);
        Assert.False(reading.IsCompleted, "the read did not wait for the share");
        share.Resume();
        if (await Task.WhenAny(reading, Task.Delay(Patience)) != reading)
        {
            Assert.Fail($"the read was still waiting after {Patience.TotalSeconds} s");
        }
        Assert.Equal([1, 2, 3], await reading);
    }

    [Fact]
    public async Task ReadsFailAtOnceOnlyOnceSixteenCallsGivenUpOnAreStillOut()
    {
        await using var share = await PausableShare.StartAsync();
        var store = new PathTierStore(share.Root, stallLimit: Stall);
        var kept = await store.PutAsync(StubFiles.TenantId, new MemoryStream([1, 2, 3]), CancellationToken.None);
        share.Pause();
        try
        {
            var reads = Enumerable.Range(0, 16).Select(_ => ReadAllAsync(store, kept.Key)).ToList();
            var all = Task.WhenAll(reads);
            if (await Task.WhenAny(all, Task.Delay(Patience)) != all && !reads.All(read => read.IsCompleted))
            {
                Assert.Fail($"the reads were still waiting after {Patience.TotalSeconds} s");
            }
            Assert.All(reads, read => Assert.IsType<TierStoreUnavailableException>(read.Exception?.InnerException));

            // Sixteen threads wait in the kernel now: the next read does not add one.
            var watch = Stopwatch.StartNew();
            var refused = await Assert.ThrowsAsync<TierStoreUnavailableException>(() => ReadAllAsync(store, kept.Key));
            Assert.Contains("is still not answering: 16 calls given up, the first ", refused.Message, StringComparison.Ordinal);
            Assert.True(watch.Elapsed < Stall, $"the read waited {watch.Elapsed} instead of failing at once");
        }
        finally
        {
            share.Resume();
        }
        Assert.Equal([1, 2, 3], await WhenAnsweringAsync(() => ReadAllAsync(store, kept.Key)));
    }

    private static async Task<byte[]> ReadAllAsync(PathTierStore store, string key)
    {
        await using var reading = await store.OpenReadAsync(key, 0, null, CancellationToken.None);
        using var copy = new MemoryStream();
        await reading.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>Every call of a folder store, into a share whose server stops answering (<see cref="PausableShare"/>).</summary>
    [Theory]
    [InlineData("writing an object")]
    [InlineData("copying a file to it")]
    [InlineData("flushing objects")]
    [InlineData("opening an object")]
    [InlineData("reading an object")]
    [InlineData("looking up an object")]
    [InlineData("listing objects")]
    [InlineData("reclaiming an object")]
    [InlineData("deleting an object")]
    public async Task EveryCallIntoAShareWhoseServerStopsAnsweringIsGivenUpAndWorksOnceItIsBack(string doing)
    {
        await using var share = await PausableShare.StartAsync();
        var store = new PathTierStore(share.Root, stallLimit: Stall);
        var kept = await store.PutAsync(StubFiles.TenantId, new MemoryStream([1, 2, 3]), CancellationToken.None);
        var unflushed = await store.PutUnflushedAsync(StubFiles.TenantId, new MemoryStream([4, 5]), CancellationToken.None);
        var source = Path.Combine(_folder, "source.bin");
        StubFiles.Write(source, 200_000);
        // Opened while the share answers, read once it does not.
        Stream? opened = doing == "reading an object" ? await store.OpenReadAsync(kept.Key, 0, null, CancellationToken.None) : null;
        Func<Task> call = doing switch
        {
            "reading an object" => async () =>
            {
                await using var reading = opened ?? await store.OpenReadAsync(kept.Key, 0, null, CancellationToken.None);
                opened = null;
                using var copy = new MemoryStream();
                await reading.CopyToAsync(copy);
                Assert.Equal([1, 2, 3], copy.ToArray());
            },
            "writing an object" => () => store.PutAsync(StubFiles.TenantId, new MemoryStream(new byte[100_000]), CancellationToken.None),
            "copying a file to it" => async () =>
            {
                using var handle = File.OpenHandle(source);
                await store.PutCopyUnflushedAsync(StubFiles.TenantId, handle, CancellationToken.None);
            },
            "flushing objects" => () => store.FlushAsync([kept, unflushed], CancellationToken.None),
            "opening an object" => async () => await (await store.OpenReadAsync(kept.Key, 0, null, CancellationToken.None)).DisposeAsync(),
            "looking up an object" => () => store.GetInfoAsync(kept.Key, CancellationToken.None),
            "listing objects" => async () => await store.ListAsync(StubFiles.TenantId, null, CancellationToken.None).CountAsync(),
            "reclaiming an object" => () => store.DeleteUnlessModifiedSinceAsync(unflushed.Key, DateTimeOffset.UtcNow.AddDays(1), CancellationToken.None),
            _ => () => store.DeleteAsync(unflushed.Key, CancellationToken.None),
        };

        share.Pause();
        var watch = Stopwatch.StartNew();
        var calling = call();
        if (await Task.WhenAny(calling, Task.Delay(Patience)) != calling)
        {
            share.Resume();
            Assert.Fail($"{doing} was still waiting on the share after {Patience.TotalSeconds} s");
        }
        var givenUp = await Assert.ThrowsAsync<TierStoreUnavailableException>(() => calling);
        Assert.Contains($"tier 2's folder {share.Root} made no progress for ", givenUp.Message, StringComparison.Ordinal);
        Assert.Contains($" s while {doing} (a share whose server is gone?)", givenUp.Message, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, Stall, Patience);

        share.Resume();
        await WhenAnsweringAsync(async () =>
        {
            await call();
            return true;
        });
        Assert.Equal([1, 2, 3], await File.ReadAllBytesAsync(Path.Combine(share.Backing, kept.Key)));
    }

    [Fact]
    public async Task AFlushOfLargeObjectsIsGivenUpWhenTheirPagesStopBeingWrittenNotAfterTheirBytesTimeAtTheSlowestRate()
    {
        await using var share = await PausableShare.StartAsync();
        // Tier 2's disk is an image on the share, as a disk on a SAN is: its writes stop when the share's server does.
        using var disk = ScratchFileSystem.TryCreate(out var whyNot, megabytes: 192, imageParent: share.Root) ?? throw new InvalidOperationException(whyNot);
        var store = new PathTierStore(disk.Root, stallLimit: Stall);
        var objects = await LargeUnflushedObjectsAsync(store);

        // 96 MiB at the slowest rate a share may have (64 KiB/s) would be 25 minutes, which is what a flush was allowed.
        share.Pause();
        var watch = Stopwatch.StartNew();
        var flushing = store.FlushAsync(objects, CancellationToken.None);
        if (await Task.WhenAny(flushing, Task.Delay(Patience)) != flushing)
        {
            share.Resume();
            Assert.Fail($"the flush was still waiting on the share after {Patience.TotalSeconds} s");
        }
        var givenUp = await Assert.ThrowsAsync<TierStoreUnavailableException>(() => flushing);
        Assert.Contains($"tier 2's folder {disk.Root} made no progress for 2 s while flushing objects", givenUp.Message, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, Stall, Patience);

        share.Resume();
        await WhenAnsweringAsync(async () =>
        {
            await store.FlushAsync(objects, CancellationToken.None);
            return true;
        });
        foreach (var stored in objects)
        {
            Assert.Equal(stored.Sha256, await Sha256Check.OfObjectAsync(store, stored.Key, CancellationToken.None));
        }
    }

    [Fact]
    public async Task AFlushWhoseShareAnswersInBurstsIsNotCutShortThoughItLastsLongerThanTheLimit()
    {
        await using var share = await PausableShare.StartAsync();
        using var disk = ScratchFileSystem.TryCreate(out var whyNot, megabytes: 192, imageParent: share.Root) ?? throw new InvalidOperationException(whyNot);
        // Twice the other tests' limit: on a busy machine a burst's pages may not be seen written back
        // before the next silence; at 2 s, two such bursts in a row read as a stall (seen once in a full run).
        var limit = Stall * 2;
        var store = new PathTierStore(disk.Root, stallLimit: limit);

        // The share takes 2 MiB/s at most, so its bursts of half a second carry 1 MiB each and two
        // objects of 4 MiB need eight of them, whatever the machine. Unthrottled, a fast machine's
        // share took the pages in two bursts and the flush ended in 2 s (four tries in a row, in CI).
        // Pages are seen written a whole request to the loop device at a time: requests of 128 KiB
        // show every burst's progress (at the default 1,280 KiB, a busy machine's bursts carried
        // less than one, and a flush was seen making no progress for the limit).
        share.LimitWrites(2L << 20);
        disk.LimitRequestSize(128);

        // A flush whose pages the kernel had already written shows nothing: its writeback may start as
        // soon as pages are dirty, and now and then writes them all before the flush (which then takes
        // a second). Such a try is made again with new objects, four tries at most.
        for (var tries = 1; ; tries++)
        {
            var objects = await LargeUnflushedObjectsAsync(store, megabytesEach: 4);
            var took = await FlushInBurstsAsync(share, store, objects);
            if (took > limit + TimeSpan.FromSeconds(1))
            {
                break;
            }
            Assert.True(tries < 4, $"the flush took {took.TotalSeconds:0.0} s in the last of {tries} tries, too short to show that progress keeps it going");
            foreach (var stored in objects)
            {
                await store.DeleteAsync(stored.Key, CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// Flushes the objects while the share's server answers half a second in every second: the pages
    /// go in bursts, with silences of less than the limit between, and the whole flush (about 8 s at
    /// the test's rate) takes longer than the limit. Returns how long it took; it must not be cut short.
    /// </summary>
    private static async Task<TimeSpan> FlushInBurstsAsync(PausableShare share, PathTierStore store, List<StoredObject> objects)
    {
        using var stop = new CancellationTokenSource();
        var stutter = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                share.Pause();
                await Task.Delay(500);
                share.Resume();
                await Task.Delay(500);
            }
        });
        var watch = Stopwatch.StartNew();
        try
        {
            var flushing = store.FlushAsync(objects, CancellationToken.None);
            if (await Task.WhenAny(flushing, Task.Delay(Patience)) != flushing)
            {
                Assert.Fail($"the flush was still going after {Patience.TotalSeconds} s");
            }
            await flushing;
            return watch.Elapsed;
        }
        finally
        {
            await stop.CancelAsync();
            await stutter;
            share.Resume();
        }
    }

    /// <summary>
    /// Two objects of 48 MiB each unless told, put and not flushed: their pages wait to be written.
    /// The contents are made first and the puts follow at once: the kernel's writeback, which may
    /// start as soon as pages are dirty, then has little time to write them before a test's flush begins.
    /// </summary>
    private static async Task<List<StoredObject>> LargeUnflushedObjectsAsync(PathTierStore store, int megabytesEach = 48)
    {
        var contents = Enumerable.Range(0, 2).Select(_ => new byte[megabytesEach << 20]).ToList();
        contents.ForEach(Random.Shared.NextBytes);
        var objects = new List<StoredObject>();
        foreach (var content in contents)
        {
            objects.Add(await store.PutUnflushedAsync(StubFiles.TenantId, new MemoryStream(content), CancellationToken.None));
        }
        return objects;
    }

    [Fact]
    public async Task AShareThatIsSlowButKeepsMovingIsNeverCutShort()
    {
        var store = new PathTierStore(_tier2.Root, stallLimit: TimeSpan.FromSeconds(1));
        // Four seconds for the whole object, four times the limit, but a piece every quarter of a second.
        var content = new PacedStream(pieces: 16, pieceLength: 64 * 1024, pause: TimeSpan.FromMilliseconds(250));

        var stored = await store.PutAsync(StubFiles.TenantId, content, CancellationToken.None);

        Assert.Equal(16L * 64 * 1024, stored.Length);
        Assert.Equal(stored.Sha256, await Sha256Check.OfObjectAsync(store, stored.Key, CancellationToken.None));
    }

    /// <summary>Runs <paramref name="call"/> until the store no longer says a call given up on is still out (it ends soon after the thaw).</summary>
    private static async Task<T> WhenAnsweringAsync<T>(Func<Task<T>> call)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await call();
            }
            catch (TierStoreUnavailableException exception) when (exception.Message.Contains("still not answering", StringComparison.Ordinal) && deadline.Elapsed < Patience)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Gives its bytes a piece at a time, pausing before each: an upload from a slow source, or over a slow link.</summary>
    private sealed class PacedStream(int pieces, int pieceLength, TimeSpan pause) : ReadOnlyForwardStream
    {
        private int _left = pieces;

        public override int Read(Span<byte> buffer) => throw new NotSupportedException("read asynchronously");

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_left == 0)
            {
                return 0;
            }
            await Task.Delay(pause, cancellationToken);
            _left--;
            var length = Math.Min(pieceLength, buffer.Length);
            buffer.Span[..length].Fill((byte)_left);
            return length;
        }
    }
}

/// <summary>
/// A file system frozen with <c>fsfreeze</c> until disposed. A watchdog process thaws it after a
/// few minutes whatever happens to the test process: a frozen file system left behind would hang
/// every later writer on it, and its unmount.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class FrozenFileSystem : IAsyncDisposable
{
    private readonly string _root;
    private readonly Process _watchdog;
    private bool _thawed;

    private FrozenFileSystem(string root, Process watchdog)
    {
        _root = root;
        _watchdog = watchdog;
    }

    public static async Task<FrozenFileSystem> FreezeAsync(string root)
    {
        var watchdog = Process.Start(new ProcessStartInfo("sh", ["-c", "sleep 300; exec fsfreeze -u \"$0\"", root]))!;
        var (exit, output) = await StubFiles.ShellAsync($"fsfreeze -f '{root}'");
        if (exit != 0)
        {
            watchdog.Kill();
            throw new InvalidOperationException($"fsfreeze -f {root} failed: {output}");
        }
        return new FrozenFileSystem(root, watchdog);
    }

    public async ValueTask DisposeAsync()
    {
        if (_thawed)
        {
            return;
        }
        _thawed = true;
        var (exit, output) = await StubFiles.ShellAsync($"fsfreeze -u '{_root}'");
        _watchdog.Kill(entireProcessTree: true);
        _watchdog.Dispose();
        Assert.True(exit == 0, $"fsfreeze -u {_root} failed: {output}");
    }
}
