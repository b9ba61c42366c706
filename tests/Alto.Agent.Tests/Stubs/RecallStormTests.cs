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

    private static void InterlockedMax(ref int most, int value)
    {
        var seen = Volatile.Read(ref most);
        while (value > seen && Interlocked.CompareExchange(ref most, value, seen) is var before && before != seen)
        {
            seen = before;
        }
    }
}
