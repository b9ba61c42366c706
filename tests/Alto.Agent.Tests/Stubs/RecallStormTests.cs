using System.Runtime.Versioning;
using Alto.Agent.Recall;
using Alto.Agent.Tests.Jobs;

namespace Alto.Agent.Tests.Stubs;

/// <summary>
/// Many programs opening stubs at the same moment (a virus scanner, a backup or an indexer with
/// many threads), on a loop-mounted ext4 volume of its own: only the configured number of
/// recalls read tier 2 at once, the other opens wait their turn, and every program reads its file whole.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Layer", "Unit")]
public sealed class RecallStormTests : IDisposable
{
    private const int AtOnce = 3;
    private const int Stubs = 24;

    /// <summary>Two users with no account here: the opens are counted by the processes' user ids alone.</summary>
    private const int StormUser = 60_101;
    private const int OtherUser = 60_102;

    private readonly FaultyStore _slow;
    private readonly RecallVolume _recall;

    public RecallStormTests()
    {
        FaultyStore? slow = null;
        _recall = new RecallVolume(store => slow = new FaultyStore(store), new RecallLimits(TimeSpan.FromSeconds(30), AtOnce));
        _slow = slow!;
    }

    public void Dispose() => _recall.Dispose();

    [Fact]
    public async Task ManyProgramsOpeningStubsAtOnceAreRecalledAFewAtATimeAndEachReadsItsFileWhole()
    {
        var files = new Dictionary<string, byte[]>();
        for (var i = 0; i < Stubs; i++)
        {
            var path = Path.Combine(_recall.Root, $"scan-{i:00}.bin");
            files[path] = StubFiles.Write(path, 64 * 1024 + i);
            await _recall.TierAsync(path);
            StubFiles.AssertReleased(path);
        }
        var (reading, mostReading, mostWaiting) = (0, 0, 0);
        _slow.BeforeRead = async cancellationToken =>
        {
            var now = Interlocked.Increment(ref reading);
            InterlockedMax(ref mostReading, now);
            InterlockedMax(ref mostWaiting, _recall.Listener.Waiting);
            // Long enough for every program to have opened its stub while these are read.
            await Task.Delay(300, cancellationToken);
            Interlocked.Decrement(ref reading);
        };

        // One process per stub, all started at once, each printing its file's hash.
        var paths = string.Join(' ', files.Keys.Select(path => $"'{path}'"));
        var storm = await StubFiles.ShellAsync($"for f in {paths}; do sha256sum \"$f\" & done; wait");

        Assert.Equal(0, storm.ExitCode);
        foreach (var (path, content) in files)
        {
            Assert.Contains($"{StubFiles.Sha256(content)}  {path}", storm.Output, StringComparison.Ordinal);
        }
        Assert.Equal(AtOnce, mostReading);
        Assert.InRange(mostWaiting, 1, Stubs - AtOnce);
        Assert.Equal(0, _recall.Listener.Waiting);
        Assert.Equal((Stubs, 0L, 0L), _recall.Listener.Counts);
    }

    [Fact]
    public async Task OpensBeyondTheMostThatMayWaitGetAnErrorAtOnceAndTheirFilesStayStubsThatReadWholeLater()
    {
        const int MostWaiting = 4;
        const int Opens = 9;
        FaultyStore? held = null;
        using var bounded = new RecallVolume(store => held = new FaultyStore(store), new RecallLimits(TimeSpan.FromSeconds(30), AtOnce: 1, MostWaiting));
        var tierTwoAnswers = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var files = new Dictionary<string, byte[]>();
        for (var i = 0; i < Opens; i++)
        {
            var path = Path.Combine(bounded.Root, $"flood-{i}.bin");
            files[path] = StubFiles.Write(path, 32 * 1024 + i);
            await bounded.TierAsync(path);
        }
        held!.BeforeRead = cancellationToken => tierTwoAnswers.Task.WaitAsync(cancellationToken);

        var paths = string.Join(' ', files.Keys.Select(path => $"'{path}'"));
        var storm = StubFiles.ShellAsync($"for f in {paths}; do sha256sum \"$f\" & done; wait");
        // The opens beyond the most are refused without waiting for tier 2.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (bounded.Listener.Counts.Failed < Opens - MostWaiting)
        {
            Assert.True(DateTime.UtcNow < deadline, $"refused so far: {bounded.Listener.Counts.Failed}");
            await Task.Delay(20);
        }
        tierTwoAnswers.SetResult();
        var (_, output) = await storm;

        var whole = files.Count(file => output.Contains($"{StubFiles.Sha256(file.Value)}  {file.Key}", StringComparison.Ordinal));
        Assert.Equal(MostWaiting, whole);
        Assert.Equal(Opens - MostWaiting, output.Split("Input/output error").Length - 1);
        Assert.Equal((MostWaiting, (long)(Opens - MostWaiting), 0L), bounded.Listener.Counts);
        // The refused ones are stubs still, and recall when opened again.
        foreach (var (path, content) in files)
        {
            var again = await StubFiles.ShellAsync($"sha256sum '{path}'");
            Assert.StartsWith(StubFiles.Sha256(content), again.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task OneUsersStormDoesNotKeepAnotherUsersOpenWaitingBehindIt()
    {
        const int StormStubs = 12;
        FaultyStore? slow = null;
        using var shared = new RecallVolume(store => slow = new FaultyStore(store), new RecallLimits(TimeSpan.FromSeconds(30), AtOnce: 1));
        var storm = await WriteStubsAsync(shared, "storm", StormStubs);
        var single = await WriteStubsAsync(shared, "single", 1);
        slow!.BeforeRead = cancellationToken => Task.Delay(300, cancellationToken);

        var scanning = StubFiles.ShellAsync(EachReadBy($"--reuid={StormUser} --regid={StormUser}", storm.Keys));
        await UntilAsync(() => shared.Listener.Waiting == StormStubs - 1, "the storm's opens all waiting");
        var opened = await StubFiles.ShellAsync(EachReadBy($"--reuid={OtherUser} --regid={OtherUser}", single.Keys));
        var recalledBefore = shared.Listener.Counts.Recalled;

        // Its turn came after the recall running when it opened (and at most one more that began meanwhile), not after the whole storm.
        Assert.Equal(0, opened.ExitCode);
        Assert.StartsWith(StubFiles.Sha256(single.Values.Single()), opened.Output, StringComparison.Ordinal);
        Assert.InRange(recalledBefore, 2, 3);
        var (exitCode, output) = await scanning;
        Assert.Equal(0, exitCode);
        Assert.All(storm, file => Assert.Contains($"{StubFiles.Sha256(file.Value)}  {file.Key}", output, StringComparison.Ordinal));
        Assert.Equal((StormStubs + 1L, 0L, 0L), shared.Listener.Counts);
    }

    [Fact]
    public async Task OneUsersOpensBeyondTheirShareGetAnErrorWhileAnotherUsersOpensStillWaitTheirTurnAlsoThroughAFileServer()
    {
        // Both users' opens come from processes whose real user is root, as a file server's do
        // (Samba opens each client's files with the client's user as its effective one).
        const int Share = 3;
        const int StormOpens = 5;
        FaultyStore? held = null;
        using var shared = new RecallVolume(store => held = new FaultyStore(store),
            new RecallLimits(TimeSpan.FromSeconds(30), AtOnce: 1, MostWaiting: 8, MostWaitingPerUser: Share));
        var storm = await WriteStubsAsync(shared, "flood", StormOpens);
        var others = await WriteStubsAsync(shared, "other", 2);
        var tierTwoAnswers = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        held!.BeforeRead = cancellationToken => tierTwoAnswers.Task.WaitAsync(cancellationToken);

        var flooding = StubFiles.ShellAsync(EachReadBy($"--euid={StormUser} --egid={StormUser}", storm.Keys));
        await UntilAsync(() => shared.Listener.Counts.Failed == StormOpens - Share, "the opens beyond the user's share refused");
        var opening = StubFiles.ShellAsync(EachReadBy($"--euid={OtherUser} --egid={OtherUser}", others.Keys));
        // One of the first user's recalls runs; its two others and the second user's two wait.
        await UntilAsync(() => shared.Listener.Waiting == Share - 1 + others.Count, "the other user's opens waiting");
        Assert.Equal(StormOpens - Share, shared.Listener.Counts.Failed);
        tierTwoAnswers.SetResult();

        var opened = await opening;
        Assert.Equal(0, opened.ExitCode);
        Assert.All(others, file => Assert.Contains($"{StubFiles.Sha256(file.Value)}  {file.Key}", opened.Output, StringComparison.Ordinal));
        var (_, output) = await flooding;
        Assert.Equal(Share, storm.Count(file => output.Contains($"{StubFiles.Sha256(file.Value)}  {file.Key}", StringComparison.Ordinal)));
        Assert.Equal(StormOpens - Share, output.Split("Input/output error").Length - 1);
        Assert.Equal((Share + 2L, (long)(StormOpens - Share), 0L), shared.Listener.Counts);
    }

    /// <summary>
    /// A shell command that reads each file at once, each in a <c>sha256sum</c> of its own run with
    /// <paramref name="identity"/> (setpriv's options) and no supplementary groups. No shell runs as
    /// that user: one started with its effective user other than its real one makes them the same.
    /// </summary>
    private static string EachReadBy(string identity, IEnumerable<string> paths) =>
        $"for f in {string.Join(' ', paths.Select(path => $"'{path}'"))}; do setpriv {identity} --clear-groups sha256sum \"$f\" & done; wait";

    /// <summary>Stubs of <paramref name="count"/> files in <paramref name="volume"/>, which any user may read (the scratch volume lets them through).</summary>
    private static async Task<Dictionary<string, byte[]>> WriteStubsAsync(RecallVolume volume, string name, int count)
    {
        var files = new Dictionary<string, byte[]>();
        for (var i = 0; i < count; i++)
        {
            var path = Path.Combine(volume.Root, $"{name}-{i:00}.bin");
            files[path] = StubFiles.Write(path, 32 * 1024 + i);
            await volume.TierAsync(path);
        }
        return files;
    }

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not seen within 30 s: {what}");
            await Task.Delay(20);
        }
    }

    private static void InterlockedMax(ref int most, int value)
    {
        var seen = Volatile.Read(ref most);
        while (value > seen && Interlocked.CompareExchange(ref most, value, seen) is var before && before != seen)
        {
            seen = before;
        }
    }
}
