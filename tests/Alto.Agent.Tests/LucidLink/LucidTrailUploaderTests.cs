using Alto.Agent.LucidLink;
using Alto.Scanning;
using Alto.TestSupport;

namespace Alto.Agent.Tests.LucidLink;

/// <summary>The uploader's loop around the tailer, with the batches it sends kept instead of posted (its own seam, not a stand-in for the gateway).</summary>
[Trait("Layer", "Unit")]
public sealed class LucidTrailUploaderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("alto-lucid-up-").FullName;
    private readonly string _state;

    public LucidTrailUploaderTests() => _state = Path.Combine(_root, "agent-state");

    public void Dispose() => Directory.Delete(_root, true);

    /// <summary>
    /// A damaged offsets file stops the trail without ending the agent: an error in the log once,
    /// the reason in every status (heartbeats carry it to the cluster), and the trail goes on by
    /// itself once the file is put right.
    /// </summary>
    [Fact]
    public async Task DamagedStateStopsTheTrailVisiblyAndItGoesOnOnceItIsPutRight()
    {
        var month = Path.Combine(_root, LucidTrailTailer.AuditFolder, "node-7", "2026", "11");
        Directory.CreateDirectory(month);
        await File.WriteAllTextAsync(Path.Combine(month, "1764300000.log.active"), LucidTrailTailerTests.Line("FileRead", "docs/a.txt") + "\n");
        Directory.CreateDirectory(_state);
        var lines = new LinesLogger();
        var sent = new List<TrailUpdateBatch>();
        var uploader = new LucidTrailUploader(Guid.NewGuid(), Guid.NewGuid(), _state, (batch, _) =>
        {
            lock (sent)
            {
                sent.Add(batch);
            }
            return Task.FromResult<string?>(null);
        }, lines.For("trail"));
        // The offsets file of this filespace, cut short.
        var offsets = Path.Combine(_state, $"lucid-offsets-{System.IO.Hashing.XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(_root)):x16}.json");
        await File.WriteAllTextAsync(offsets, "{\"node-7/2026/11/1764300000.lo");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var running = uploader.RunAsync(() => (_root, 1), stop.Token);
        await WaitForAsync(() => uploader.Status?.Problem is not null, stop.Token);
        Assert.StartsWith($"the audit trail's offsets file {offsets} is damaged", uploader.Status!.Problem);
        await Task.Delay(2500, stop.Token);
        Assert.False(running.IsCompleted);
        Assert.Single(lines.Lines, line => line.Contains("Error: The LucidLink audit trail is not followed: the audit trail's offsets file", StringComparison.Ordinal));
        lock (sent)
        {
            Assert.Empty(sent);
        }

        File.Move(offsets, offsets + ".damaged");
        await WaitForAsync(() => uploader.Status?.Problem is null, stop.Token);
        lock (sent)
        {
            Assert.Equal([_root + "/docs/a.txt"], sent.SelectMany(batch => batch.Updates ?? []).Select(update => update.FilePath));
        }
        await stop.CancelAsync();
        await running;
    }

    private static async Task WaitForAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(50, cancellationToken);
        }
    }
}
