using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using Alto.Agent.Recall;
using Alto.TestSupport;
using Alto.Tiering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Bench;

/// <summary>
/// bench/run.sh recall: the bench process is the agent (fanotify listener, local path target);
/// a separate reader process opens and reads stubs on a loop-mounted ext4 volume and reports
/// its own per-file times. One 64 MiB stub, then 1,000 small ones; the baseline is the same
/// reader on the same files once they are plain files again (page cache warm).
/// </summary>
[SupportedOSPlatform("linux")]
public static class RecallBench
{
    private const int SmallFiles = 1000;
    private const int SmallSize = 4096;

    public static async Task<Dictionary<string, object>> RunAsync()
    {
        using var volume = ScratchFileSystem.TryCreate(out var whyNot, megabytes: 512) ?? throw new InvalidOperationException(whyNot);
        var store = new PathTierStore(Directory.CreateTempSubdirectory("alto-bench-recall-").FullName);
        var targetId = Guid.NewGuid();
        try
        {
            var large = Path.Combine(volume.Root, "large.bin");
            await WriteRandomAsync(large, 64 << 20);
            var small = Enumerable.Range(0, SmallFiles).Select(i => Path.Combine(volume.Root, $"small-{i:D4}.bin")).ToArray();
            foreach (var path in small)
            {
                await WriteRandomAsync(path, SmallSize);
            }
            foreach (var path in small.Prepend(large))
            {
                await BenchStubs.TierAsync(path, store, Guid.Empty, targetId);
            }
            var (group, listener) = RecallListener.TryStartAlone([volume.Root], _ => store, NullLogger.Instance, out var noRecall)
                                    ?? throw new InvalidOperationException(noRecall);
            using var groupScope = group;
            using var listenerScope = listener;

            var largeRecall = (await ReadAsync([large]))[0];
            var smallRecalls = await ReadAsync(small);
            var largePlain = (await ReadAsync([large]))[0];
            var smallPlain = await ReadAsync(small);
            return new Dictionary<string, object>
            {
                ["bench"] = "recall",
                ["large_stub_mib"] = 64,
                ["large_recall_ms"] = Math.Round(largeRecall, 1),
                ["large_plain_read_ms"] = Math.Round(largePlain, 1),
                ["small_files"] = SmallFiles,
                ["small_recall_p50_ms"] = Math.Round(Measure.Percentile(smallRecalls, 0.50), 2),
                ["small_recall_p99_ms"] = Math.Round(Measure.Percentile(smallRecalls, 0.99), 2),
                ["small_plain_p50_ms"] = Math.Round(Measure.Percentile(smallPlain, 0.50), 3),
                ["small_plain_p99_ms"] = Math.Round(Measure.Percentile(smallPlain, 0.99), 3),
                ["recalled"] = listener.Counts.Recalled,
                ["goal"] = "64 MiB open+read <= 150 ms; small-file recall p99 <= 10 ms",
            };
        }
        finally
        {
            Directory.Delete(store.Root, recursive: true);
        }
    }

    /// <summary>
    /// The reader mode (Alto.Bench read-files LIST [THREADS]): opens and reads each file of the list,
    /// on as many threads side by side, printing milliseconds per file from open to last byte.
    /// </summary>
    public static int ReadFiles(IEnumerable<string> paths, int threads = 1)
    {
        var times = new System.Collections.Concurrent.ConcurrentQueue<double>();
        var next = new System.Collections.Concurrent.ConcurrentQueue<string>(paths);
        // Threads of their own, all started at once: the thread pool would add blocked threads a
        // few a second, and the "many at once" would be two or three.
        var readers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            var buffer = new byte[1 << 20];
            while (next.TryDequeue(out var path))
            {
                var clock = Stopwatch.StartNew();
                using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None))
                {
                    while (file.Read(buffer) > 0)
                    {
                    }
                }
                times.Enqueue(clock.Elapsed.TotalMilliseconds);
            }
        })).ToList();
        readers.ForEach(reader => reader.Start());
        readers.ForEach(reader => reader.Join());
        foreach (var time in times)
        {
            Console.WriteLine(time.ToString(CultureInfo.InvariantCulture));
        }
        return 0;
    }

    /// <summary>
    /// Runs the reader as a process of its own (its opens are not the agent's) on
    /// <paramref name="threads"/> threads, as <paramref name="user"/> (real and effective, through
    /// <c>setpriv</c>) when given; milliseconds per file.
    /// </summary>
    internal static async Task<double[]> ReadAsync(string[] paths, int threads = 1, int? user = null)
    {
        var list = Path.GetTempFileName();
        await File.WriteAllLinesAsync(list, paths);
        File.SetUnixFileMode(list, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var self = typeof(RecallBench).Assembly.Location;
        string[] reader = ["dotnet", self, "read-files", list, threads.ToString(CultureInfo.InvariantCulture)];
        if (user is { } id)
        {
            reader = ["setpriv", $"--reuid={id}", $"--regid={id}", "--clear-groups", .. reader];
        }
        var run = await Measure.ProcessAsync(reader[0], reader[1..]);
        File.Delete(list);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException("the reader failed: " + run.Output);
        }
        return [.. run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => double.Parse(line, CultureInfo.InvariantCulture))];
    }

    internal static async Task WriteRandomAsync(string path, int size)
    {
        var bytes = new byte[size];
        Random.Shared.NextBytes(bytes);
        await File.WriteAllBytesAsync(path, bytes);
    }
}
