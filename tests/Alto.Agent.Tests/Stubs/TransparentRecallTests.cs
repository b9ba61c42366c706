using System.Runtime.Versioning;
using Alto.Agent.Jobs;
using Alto.Agent.Recall;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Jobs;
using Alto.TestSupport;
using Alto.Tiering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Tests.Stubs;

/// <summary>
/// Recall on open through fanotify, on a loop-mounted ext4 volume of its own: other processes
/// (cat, cp, sha256sum) read stubs and get the original bytes; an unreachable tier 2 gives them
/// EIO and leaves the stub; the agent's own reads never recall.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Layer", "Unit")]
public sealed class TransparentRecallTests : IDisposable
{
    private readonly ScratchFileSystem _volume;
    private readonly PathTierStore _store = new(Directory.CreateTempSubdirectory("alto-recall-tier2-").FullName);
    private readonly Guid _targetId = Guid.NewGuid();
    private readonly Guid _deadTargetId = Guid.NewGuid();
    private readonly RecallGroup _group;
    private readonly RecallListener _listener;

    /// <summary>How long a recall here waits on a tier 2 that sends nothing (the agent's default is a minute).</summary>
    private static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(2);

    private readonly Guid _silentTargetId = Guid.NewGuid();
    private SilentTierTwo? _silent;

    private readonly Guid _faultyTargetId = Guid.NewGuid();
    private readonly FaultyStore _faulty;

    public TransparentRecallTests()
    {
        _volume = ScratchFileSystem.TryCreate(out var whyNot) ?? throw new InvalidOperationException(whyNot);
        _faulty = new FaultyStore(_store);
        (_group, _listener) = RecallListener.TryStartAlone([_volume.Root], Stores, NullLogger.Instance, out var noRecall,
                                  limits: RecallLimits.Default with { Stall = StallLimit })
                              ?? throw new InvalidOperationException(noRecall);
    }

    public void Dispose()
    {
        _silent?.Dispose();
        _listener.Dispose();
        _group.Dispose();
        _volume.Dispose();
        Directory.Delete(_store.Root, true);
    }

    private ITierStore Stores(Guid targetId) =>
        targetId == _targetId ? _store
        : targetId == _faultyTargetId ? _faulty
        : targetId == _silentTargetId && _silent is not null ? _silent.Store
        : throw new TierStoreUnavailableException("tier 2 of this target is unreachable");

    [Fact]
    public async Task OtherProgramsReadStubsAsTheOriginalFiles()
    {
        var files = new Dictionary<string, byte[]>();
        foreach (var (name, length) in new[] { ("a.bin", 1), ("b.bin", 4096), ("c.bin", 1_234_567), ("d.bin", 9 << 20) })
        {
            var path = Path.Combine(_volume.Root, name);
            files[path] = StubFiles.Write(path, length);
            await StubFiles.TierAsync(path, _store, _targetId, _listener.Hooks);
            StubFiles.AssertReleased(path);
        }
        var (a, b, c, d) = (files.Keys.ElementAt(0), files.Keys.ElementAt(1), files.Keys.ElementAt(2), files.Keys.ElementAt(3));
        var copy = Path.Combine(_store.Root, "copy-of-d");

        var cat = await StubFiles.ShellAsync($"cat '{a}' '{b}' | sha256sum");
        var cp = await StubFiles.ShellAsync($"cp '{d}' '{copy}' && sha256sum '{copy}'");
        var sha = await StubFiles.ShellAsync($"sha256sum '{c}'");

        Assert.Equal(0, cat.ExitCode);
        Assert.StartsWith(StubFiles.Sha256([.. files[a], .. files[b]]), cat.Output, StringComparison.Ordinal);
        Assert.StartsWith(StubFiles.Sha256(files[d]), cp.Output, StringComparison.Ordinal);
        Assert.StartsWith(StubFiles.Sha256(files[c]), sha.Output, StringComparison.Ordinal);
        foreach (var (path, content) in files)
        {
            Assert.Null(LinuxStubs.Read(path));
            Assert.Equal(content, await File.ReadAllBytesAsync(path));
        }
        Assert.Equal(4, _listener.Counts.Recalled);
    }

    [Fact]
    public async Task WhenTierTwoIsUnreachableTheReaderGetsAnIoErrorAndTheStubStays()
    {
        var path = Path.Combine(_volume.Root, "far-away.bin");
        StubFiles.Write(path, 70_000);
        var stub = await StubFiles.TierAsync(path, _store, _deadTargetId, _listener.Hooks);

        var cat = await StubFiles.ShellAsync($"cat '{path}' > /dev/null");

        Assert.NotEqual(0, cat.ExitCode);
        Assert.Contains("Input/output error", cat.Output, StringComparison.Ordinal);
        Assert.Equal(stub, LinuxStubs.Read(path));
        StubFiles.AssertReleased(path);
        Assert.True(_listener.Counts.Failed >= 1);
    }

    /// <summary>
    /// Tier 2 that takes the connection and then answers nothing, or stops in the middle of the
    /// object: the S3 client's own timeouts and retries would hold the reader for minutes. The
    /// recall is given up once tier 2 has been silent for the stall limit: the reader gets EIO,
    /// whatever was written back is released again, and the file stays the stub it was.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WhenTierTwoStopsAnsweringTheReaderGetsAnIoErrorSoonAndTheStubStays(bool halfway)
    {
        var path = Path.Combine(_volume.Root, "silent.bin");
        var content = StubFiles.Write(path, 3 << 20);
        _silent = halfway ? SilentTierTwo.HalfThenSilent(content.Length) : SilentTierTwo.Silent();
        // The object goes to the path store; the stub names the silent target, which recall then asks.
        var stub = await StubFiles.TierAsync(path, _store, _silentTargetId, _listener.Hooks);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var read = await StubFiles.ShellAsync($"cat '{path}' > /dev/null");

        Assert.NotEqual(0, read.ExitCode);
        Assert.Contains("Input/output error", read.Output, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, StallLimit, StallLimit + TimeSpan.FromSeconds(20));
        Assert.Equal(stub, LinuxStubs.Read(path));
        StubFiles.AssertReleased(path);
        Assert.Equal((0, 1), (_listener.Counts.Recalled, _listener.Counts.Failed));
    }

    [Fact]
    public async Task WhenTheVolumeIsFullTheReaderGetsAnIoErrorTheStubStaysAndReadsWholeOnceThereIsRoom()
    {
        var path = Path.Combine(_volume.Root, "no-room.bin");
        var content = StubFiles.Write(path, 8 << 20);
        var stub = await StubFiles.TierAsync(path, _store, _targetId, _listener.Hooks);
        var filler = Path.Combine(_volume.Root, "filler");
        var fill = await StubFiles.ShellAsync($"dd if=/dev/zero of='{filler}' bs=1M 2>&1");
        Assert.Contains("No space left on device", fill.Output, StringComparison.Ordinal);

        var full = await StubFiles.ShellAsync($"sha256sum '{path}'");

        Assert.NotEqual(0, full.ExitCode);
        Assert.Contains("Input/output error", full.Output, StringComparison.Ordinal);
        Assert.Equal(stub, LinuxStubs.Read(path));
        StubFiles.AssertReleased(path);
        Assert.Equal((0, 1), (_listener.Counts.Recalled, _listener.Counts.Failed));

        File.Delete(filler);
        var roomy = await StubFiles.ShellAsync($"sha256sum '{path}'");
        Assert.StartsWith(StubFiles.Sha256(content), roomy.Output, StringComparison.Ordinal);
        Assert.Null(LinuxStubs.Read(path));
    }

    [Fact]
    public async Task TheAgentsOwnOpensMarkOrdinaryFilesIgnoredUntilTheyBecomeStubs()
    {
        var path = Path.Combine(_volume.Root, "mine.bin");
        var content = StubFiles.Write(path, 70_000);
        var inode = LinuxFiles.StatPath(path).Inode;

        // The open returns only once the listener answered it, and it marks before it answers.
        await File.ReadAllBytesAsync(path);
        var markedWhileOrdinary = IgnoreMarked(inode);
        await StubFiles.TierAsync(path, _store, _targetId, _listener.Hooks);
        var markedAsStub = IgnoreMarked(inode);
        var read = await StubFiles.ShellAsync($"sha256sum '{path}'");

        Assert.True(markedWhileOrdinary, "the agent's own open of an ordinary file leaves it an ignore mark");
        Assert.False(markedAsStub, "a stub keeps no ignore mark");
        Assert.StartsWith(StubFiles.Sha256(content), read.Output, StringComparison.Ordinal);
        Assert.Equal(1, _listener.Counts.Recalled);
    }

    /// <summary>Whether the group holds an ignore mark on the inode (its marks as the kernel lists them in fdinfo, inode numbers in hex).</summary>
    private bool IgnoreMarked(ulong inode) =>
        File.ReadLines($"/proc/self/fdinfo/{_group.Descriptor}").Any(line =>
            line.StartsWith($"fanotify ino:{inode:x} ", StringComparison.Ordinal) && !line.Contains(" ignored_mask:0 ", StringComparison.Ordinal));

    [Fact]
    public async Task TheAgentsOwnReadsNeverRecall()
    {
        var path = Path.Combine(_volume.Root, "own.bin");
        StubFiles.Write(path, 50_000);
        var stub = await StubFiles.TierAsync(path, _store, _targetId, _listener.Hooks);

        var seen = await File.ReadAllBytesAsync(path);

        Assert.All(seen, b => Assert.Equal(0, b));
        Assert.Equal(stub, LinuxStubs.Read(path));
        Assert.Equal(0, _listener.Counts.Recalled);
    }

    /// <summary>
    /// An admin's recall of a folder reaches a stub just as a program opens it. Two recalls of one
    /// file side by side each release what they wrote when they fail: the one that failed last
    /// punched out the data the other had put back and unmarked, and the file read as zeros. A
    /// command's recall and an open's share one recall of the file: here the command's fails
    /// (tier 2 goes away under it), the open waiting on it fails too, and the file stays a stub
    /// that reads whole once tier 2 is back.
    /// </summary>
    [Fact]
    public async Task ARecallOnCommandAndAnOpenOfTheSameStubShareOneRecallAndNeverLeaveZeros()
    {
        var path = Path.Combine(_volume.Root, "shared.bin");
        var content = StubFiles.Write(path, 2 << 20);
        await StubFiles.TierAsync(path, _store, _faultyTargetId, _listener.Hooks);
        var reads = 0;
        var firstReadHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var letFirstGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _faulty.BeforeRead = async cancellationToken =>
        {
            if (Interlocked.Increment(ref reads) == 1)
            {
                firstReadHeld.TrySetResult();
                await letFirstGo.Task.WaitAsync(cancellationToken);
                throw new TierStoreUnavailableException("tier 2 went away (injected)");
            }
        };

        var command = new LinuxStubDriver(_listener.Hooks).RecallAsync(path, Stores, CancellationToken.None);
        await firstReadHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var open = StubFiles.ShellAsync($"sha256sum '{path}'");
        await Task.WhenAny(open, Task.Delay(TimeSpan.FromSeconds(3)));
        letFirstGo.SetResult();

        await Assert.ThrowsAsync<StubRecallException>(() => command);
        var opened = await open;
        var again = await StubFiles.ShellAsync($"sha256sum '{path}'");
        Assert.NotEqual(0, opened.ExitCode);
        Assert.StartsWith(StubFiles.Sha256(content), again.Output, StringComparison.Ordinal);
        Assert.Null(LinuxStubs.Read(path));
    }

    /// <summary>
    /// The agent died in the middle of a recall on command, half the file written back; while it
    /// restarted, a program opened the stub (the recall guard held the open and hands it to the new
    /// agent). The new agent settles the recall cut short while it recalls for that open: settling
    /// hashed the file, judged it a stub to release again and only then held the file, so the
    /// open's recall, finishing in between, had its data released under it after it took the
    /// markers off — unmarked holes, read as zeros. Settling now holds the file before it looks at
    /// it. The open comes here at the moment the settling asks for its hold.
    /// </summary>
    [Fact]
    public async Task AnOpenDuringTheSettlingOfARecallCutShortNeverLeavesZeros()
    {
        var path = Path.Combine(_volume.Root, "cut-short.bin");
        var content = StubFiles.Write(path, 3 << 20);
        await StubFiles.TierAsync(path, _store, _targetId, _listener.Hooks);
        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.Write(file, content.AsSpan(0, content.Length / 2), 0);
        }
        var entry = new JournalEntry(JournalEntry.Recall, 7, path, JournalEntry.Begin);
        var opened = new TaskCompletionSource<(int ExitCode, string Output)>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var openEnded = new ManualResetEventSlim();
        var holdAskedFor = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // As the settling asks for its hold: an open comes, and is given a few seconds.
        var hooks = new PausedBeforeHold(_listener.Hooks, () =>
        {
            holdAskedFor.TrySetResult();
            openEnded.Wait(TimeSpan.FromSeconds(3));
        });

        var settling = SettleAsync(entry, hooks);
        await holdAskedFor.Task.WaitAsync(TimeSpan.FromSeconds(30));
        _ = Task.Run(async () =>
        {
            opened.TrySetResult(await StubFiles.ShellAsync($"sha256sum '{path}'"));
            openEnded.Set();
        });

        var stubbed = await settling;
        var read = await opened.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var again = await StubFiles.ShellAsync($"sha256sum '{path}'");
        Assert.StartsWith(StubFiles.Sha256(content), read.Output, StringComparison.Ordinal);
        Assert.StartsWith(StubFiles.Sha256(content), again.Output, StringComparison.Ordinal);
        Assert.Null(LinuxStubs.Read(path));
        // The open came before the hold, so its recall ran first and the settling found the whole file.
        Assert.False(stubbed);
        Assert.Equal(1, _listener.Counts.Recalled);
    }

    /// <summary>
    /// The same settling while an open's recall is halfway through writing the file back (its
    /// tier 2 paused after the first megabyte): judged then, the half-written stub was released
    /// again and the recall, going on, wrote the rest and took the markers off — the first
    /// megabyte zeros. A hold waits for the recall running to end; the settling then finds the
    /// whole file.
    /// </summary>
    [Fact]
    public async Task SettlingWaitsForARecallHalfwayThroughTheFile()
    {
        var path = Path.Combine(_volume.Root, "halfway.bin");
        var content = StubFiles.Write(path, 3 << 20);
        await StubFiles.TierAsync(path, _store, _faultyTargetId, _listener.Hooks);
        var paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _faulty.WrapRead = stream => new PausingStream(stream, 1 << 20, paused, resume.Task);
        var open = StubFiles.ShellAsync($"sha256sum '{path}'");
        await paused.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var settling = SettleAsync(new JournalEntry(JournalEntry.Recall, 8, path, JournalEntry.Begin), _listener.Hooks);
        // Less than the stall limit: the recall goes on.
        await Task.WhenAny(settling, Task.Delay(TimeSpan.FromSeconds(1)));
        resume.SetResult();

        Assert.False(await settling);
        Assert.StartsWith(StubFiles.Sha256(content), (await open).Output, StringComparison.Ordinal);
        Assert.StartsWith(StubFiles.Sha256(content), (await StubFiles.ShellAsync($"sha256sum '{path}'")).Output, StringComparison.Ordinal);
        Assert.Null(LinuxStubs.Read(path));
    }

    /// <summary>Settles the operation <paramref name="entry"/> left, as recovery does, on a thread of its own (it blocks while it holds the file).</summary>
    private static Task<bool> SettleAsync(JournalEntry entry, IStubRecallHooks hooks) => Task.Run(() =>
    {
        using var file = File.OpenHandle(entry.Path, FileMode.Open, FileAccess.ReadWrite);
        return new LinuxStubDriver(hooks).Settle(file, entry);
    });

    /// <summary>An object's stream that stops after <paramref name="pauseAt"/> bytes (saying so) until <paramref name="resume"/>.</summary>
    private sealed class PausingStream(Stream inner, long pauseAt, TaskCompletionSource paused, Task resume) : ReadOnlyForwardStream
    {
        private long _position;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= pauseAt)
            {
                paused.TrySetResult();
                await resume.WaitAsync(cancellationToken);
            }
            var read = await inner.ReadAsync(_position < pauseAt ? buffer[..(int)Math.Min(buffer.Length, pauseAt - _position)] : buffer, cancellationToken);
            _position += read;
            return read;
        }

        public override int Read(Span<byte> buffer) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>A listener's hooks that first run <paramref name="pause"/> when a hold is asked for.</summary>
    private sealed class PausedBeforeHold(IStubRecallHooks inner, Action pause) : IStubRecallHooks
    {
        public IDisposable HoldOpens(FileIdentity file)
        {
            pause();
            return inner.HoldOpens(file);
        }

        public Task<StubInfo?> RecallOnceAsync(FileIdentity file, Func<Task<StubInfo?>> recall) => inner.RecallOnceAsync(file, recall);

        public void Watch(int fd) => inner.Watch(fd);
    }
}
