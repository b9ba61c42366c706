using System.Runtime.Versioning;
using Alto.Agent.Recall;
using Alto.Agent.Tests.Jobs;
using Alto.TestSupport;
using Alto.Tiering;
using Microsoft.Extensions.Logging.Abstractions;

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

    private readonly ScratchFileSystem _volume;
    private readonly PathTierStore _store = new(Directory.CreateTempSubdirectory("alto-storm-tier2-").FullName);
    private readonly FaultyStore _slow;
    private readonly Guid _targetId = Guid.NewGuid();
    private readonly RecallGroup _group;
    private readonly RecallListener _listener;

    public RecallStormTests()
    {
        _volume = ScratchFileSystem.TryCreate(out var whyNot) ?? throw new InvalidOperationException(whyNot);
        _slow = new FaultyStore(_store);
        (_group, _listener) = RecallListener.TryStartAlone(
                                  [_volume.Root], _ => _slow, NullLogger.Instance, out var noRecall,
                                  limits: new RecallLimits(TimeSpan.FromSeconds(30), AtOnce))
                              ?? throw new InvalidOperationException(noRecall);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _group.Dispose();
        _volume.Dispose();
        Directory.Delete(_store.Root, true);
    }

    [Fact]
    public async Task ManyProgramsOpeningStubsAtOnceAreRecalledAFewAtATimeAndEachReadsItsFileWhole()
    {
        var files = new Dictionary<string, byte[]>();
        for (var i = 0; i < Stubs; i++)
        {
            var path = Path.Combine(_volume.Root, $"scan-{i:00}.bin");
            files[path] = StubFiles.Write(path, 64 * 1024 + i);
            await StubFiles.TierAsync(path, _store, _targetId, _listener.Hooks);
            StubFiles.AssertReleased(path);
        }
        var (reading, mostReading, mostWaiting) = (0, 0, 0);
        _slow.BeforeRead = async cancellationToken =>
        {
            var now = Interlocked.Increment(ref reading);
            InterlockedMax(ref mostReading, now);
            InterlockedMax(ref mostWaiting, _listener.Waiting);
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
        Assert.Equal(0, _listener.Waiting);
        Assert.Equal((Stubs, 0L, 0L), _listener.Counts);
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
