using System.Runtime.Versioning;
using Alto.Agent.Recall;
using Alto.TestSupport;
using Alto.Tiering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Bench;

/// <summary>
/// bench/run.sh recall-storm: a program opening many stubs at once (a virus scanner or an indexer
/// with 64 threads) against an S3 tier 2 (s3rver from npm, on 127.0.0.1). 2,000 stubs of 64 KiB on
/// a loop-mounted ext4 volume are read by a separate reader process with 64 threads: once with
/// recalls bounded as the agent runs them (<see cref="RecallLimits.DefaultAtOnce"/> at once) and
/// once unbounded (every open its own recall at once), in the same run, on the same objects. The
/// baseline is the same reader on the same files once they are plain files again.
/// </summary>
[SupportedOSPlatform("linux")]
public static class RecallStormBench
{
    private const int Files = 2000;
    private const int Size = 64 * 1024;
    private const int Threads = 64;
    private const string Bucket = "alto-storm";

    public static async Task<Dictionary<string, object>> RunAsync()
    {
        await using var s3 = await Tier2Server.StartS3Async(Bucket);
        using var client = S3TierStore.CreateClient(s3.S3Endpoint, "us-east-1", true, Tier2Server.S3Key, Tier2Server.S3Key);
        var store = new S3TierStore(client, Bucket);
        using var volume = ScratchFileSystem.TryCreate(out var whyNot, megabytes: 512) ?? throw new InvalidOperationException(whyNot);
        var targetId = Guid.NewGuid();
        var paths = Enumerable.Range(0, Files).Select(i => Path.Combine(volume.Root, $"scan-{i:D4}.bin")).ToArray();
        foreach (var path in paths)
        {
            await RecallBench.WriteRandomAsync(path, Size);
        }

        var figures = new Dictionary<string, object> { ["bench"] = "recall-storm", ["files"] = Files, ["file_kib"] = Size / 1024, ["reader_threads"] = Threads };
        var passes = new Dictionary<string, List<(double Seconds, double[] Opens, long Recalled, long Failed)>> { ["bounded"] = [], ["unbounded"] = [] };
        // Bounded, unbounded, unbounded, bounded: what the first pass pays for a cold s3rver and
        // a cold reader falls on both sides alike.
        foreach (var name in new[] { "bounded", "unbounded", "unbounded", "bounded" })
        {
            passes[name].Add(await PassAsync(paths, store, targetId, name == "bounded" ? RecallLimits.DefaultAtOnce : RecallLimits.MostAtOnce, volume.Root));
        }
        foreach (var (name, runs) in passes)
        {
            var seconds = runs.Average(run => run.Seconds);
            var opens = runs.SelectMany(run => run.Opens).ToArray();
            figures[$"{name}_at_once"] = name == "bounded" ? RecallLimits.DefaultAtOnce : RecallLimits.MostAtOnce;
            figures[$"{name}_seconds"] = Math.Round(seconds, 2);
            figures[$"{name}_each_seconds"] = runs.Select(run => Math.Round(run.Seconds, 2)).ToArray();
            figures[$"{name}_files_per_s"] = Math.Round(Files / seconds);
            figures[$"{name}_open_p50_ms"] = Math.Round(Measure.Percentile(opens, 0.50), 1);
            figures[$"{name}_open_p99_ms"] = Math.Round(Measure.Percentile(opens, 0.99), 1);
            figures[$"{name}_recalled"] = runs.Sum(run => run.Recalled);
            figures[$"{name}_failed"] = runs.Sum(run => run.Failed);
        }
        var plainClock = System.Diagnostics.Stopwatch.StartNew();
        var plain = await RecallBench.ReadAsync(paths, Threads);
        figures["baseline"] = $"the same reader ({Threads} threads) on the plain files";
        figures["baseline_seconds"] = Math.Round(plainClock.Elapsed.TotalSeconds, 2);
        figures["baseline_open_p99_ms"] = Math.Round(Measure.Percentile(plain, 0.99), 2);
        figures["bounded_to_unbounded_time"] = Math.Round((double)figures["bounded_seconds"] / (double)figures["unbounded_seconds"], 3);
        figures["goal"] = "every stub recalled (recalled = 2 x files, failed 0) both ways; bounded no slower than unbounded (ratio <= 1.1)";
        return figures;
    }

    /// <summary>Makes every file a stub again, then times the reader over them with recalls bounded at <paramref name="atOnce"/>.</summary>
    private static async Task<(double Seconds, double[] Opens, long Recalled, long Failed)> PassAsync(
        string[] paths, ITierStore store, Guid targetId, int atOnce, string volume)
    {
        foreach (var path in paths)
        {
            await BenchStubs.TierAsync(path, store, Guid.Empty, targetId);
        }
        var (group, listener) = RecallListener.TryStartAlone(
                                    [volume], _ => store, NullLogger.Instance, out var noRecall, limits: RecallLimits.Default with { AtOnce = atOnce })
                                ?? throw new InvalidOperationException(noRecall);
        using (group)
        using (listener)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var opens = await RecallBench.ReadAsync(paths, Threads);
            return (clock.Elapsed.TotalSeconds, opens, listener.Counts.Recalled, listener.Counts.Failed);
        }
    }
}
