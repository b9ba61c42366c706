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

    private static void InterlockedMax(ref int most, int value)
    {
        var seen = Volatile.Read(ref most);
        while (value > seen && Interlocked.CompareExchange(ref most, value, seen) is var before && before != seen)
        {
            seen = before;
        }
    }
}
