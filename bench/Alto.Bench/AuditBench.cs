using System.Diagnostics;
using System.Text;
using Alto.Agent.LucidLink;

namespace Alto.Bench;

/// <summary>
/// bench/run.sh audit (agent half): parses 1,000,000 generated LucidLink audit events through the
/// real tailer in batches of 10,000 (offsets committed after each, as after an upload; lines parsed
/// on both cores, as the agent does), a second pass timed (the first compiles the code), against
/// the baseline of reading the same bytes line by line. The server half is <see cref="AuditApplyBench"/>.
/// </summary>
public static class AuditBench
{
    private const int Events = 1_000_000;
    private const int FilesInTrail = 8;
    private const int Batch = 10_000;

    public static Dictionary<string, object> Run(string work)
    {
        var root = Path.Combine(work, "lucid-filespace");
        var month = Path.Combine(root, LucidTrailTailer.AuditFolder, "node-1", "2026", "11");
        // Paths rooted at the filespace, as LucidLink documents them (a leading '/'); trails generated before without it are made again.
        var marker = Path.Combine(root, "generated-rooted-" + Events);
        if (!File.Exists(marker))
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, true);
            }
            Directory.CreateDirectory(month);
            Generate(month);
            File.WriteAllText(marker, "");
        }
        var bytes = Directory.EnumerateFiles(month).Sum(file => new FileInfo(file).Length);

        // Baseline: the same bytes, line by line.
        var clock = Stopwatch.StartNew();
        long lines = 0;
        foreach (var file in Directory.EnumerateFiles(month).Order(StringComparer.Ordinal))
        {
            using var reader = new StreamReader(file, Encoding.UTF8, false, 1 << 16);
            while (reader.ReadLine() is not null)
            {
                lines++;
            }
        }
        var baseline = clock.Elapsed;

        // The agent tails for as long as it runs, its code compiled once: the first pass (compiling as
        // it goes) is reported apart, and the figure is a second pass over the trail from its start.
        var firstPass = ReadWholeTrail(root, work);
        var (parsed, malformed, ignored, alto) = ReadWholeTrail(root, work);
        if (parsed + ignored != Events || lines != Events)
        {
            throw new InvalidOperationException($"parsed {parsed} events (+{ignored} not acted on) and read {lines} lines of {Events}");
        }
        return new Dictionary<string, object>
        {
            ["bench"] = "audit",
            ["events"] = Events,
            ["bytes"] = bytes,
            ["alto_seconds"] = Math.Round(alto.TotalSeconds, 3),
            ["alto_first_pass_seconds"] = Math.Round(firstPass.Elapsed.TotalSeconds, 3),
            ["alto_events_per_second"] = Math.Round(Events / alto.TotalSeconds),
            ["baseline"] = "StreamReader.ReadLine over the same files",
            ["baseline_seconds"] = Math.Round(baseline.TotalSeconds, 3),
            ["baseline_lines_per_second"] = Math.Round(Events / baseline.TotalSeconds),
            ["ratio_to_baseline"] = Math.Round(baseline.TotalSeconds / alto.TotalSeconds, 3),
            ["goal_events_per_second"] = 500_000,
            ["events_sent"] = parsed,
            ["events_not_acted_on"] = ignored,
            ["malformed"] = malformed,
        };
    }

    /// <summary>The whole trail through a new tailer (offsets of its own), in batches committed one by one as after their uploads.</summary>
    private static (long Parsed, long Malformed, long Ignored, TimeSpan Elapsed) ReadWholeTrail(string root, string work)
    {
        var state = Path.Combine(work, "lucid-offsets-" + Guid.NewGuid().ToString("N") + ".json");
        var tailer = new LucidTrailTailer(root, state);
        var clock = Stopwatch.StartNew();
        long parsed = 0, malformed = 0, ignored = 0;
        while (true)
        {
            var read = tailer.ReadNew(Batch);
            if (read.Events.Count == 0 && read.Ignored == 0)
            {
                break;
            }
            parsed += read.Events.Count;
            malformed += read.Malformed;
            ignored += read.Ignored;
            tailer.Commit();
        }
        var elapsed = clock.Elapsed;
        File.Delete(state);
        File.Delete(state + ".quarantine.jsonl");
        return (parsed, malformed, ignored, elapsed);
    }

    private static void Generate(string month)
    {
        var random = new Random(42);
        string[] actions = ["FileRead", "FileRead", "FileRead", "FileWritten", "FileDelete", "Move", "Pin", "DirectoryCreate"];
        var perFile = Events / FilesInTrail;
        var timestamp = 1_764_300_000_000_000L;
        for (var f = 0; f < FilesInTrail; f++)
        {
            var name = Path.Combine(month, $"{1_764_300_000 + f * 900}.log" + (f == FilesInTrail - 1 ? ".active" : ""));
            using var writer = new StreamWriter(name, false, new UTF8Encoding(false), 1 << 20);
            for (var i = 0; i < perFile; i++)
            {
                var action = actions[random.Next(actions.Length)];
                var path = $"/projects/p{random.Next(2000)}/dir{random.Next(50)}/file-{random.Next(1_000_000)}.dat";
                timestamp += random.Next(1, 5000);
                writer.Write("{\"timestamp\":");
                writer.Write(timestamp);
                writer.Write(",\"user\":{\"name\":\"user");
                writer.Write(random.Next(100));
                writer.Write("\",\"id\":\"u-1\"},\"device\":{\"hostName\":\"ws-12\",\"osName\":\"Windows\",\"osVersion\":\"11\"},\"event\":{\"filespace\":\"media\",\"nodeId\":\"1\",\"filespaceUuid\":\"7b0c\"},\"operation\":{\"action\":\"");
                writer.Write(action);
                writer.Write("\",\"entryPath\":\"");
                writer.Write(path);
                writer.Write("\",\"fileId\":\"");
                writer.Write(random.Next());
                writer.Write('"');
                if (action == "Move")
                {
                    writer.Write(",\"targetPath\":\"/archive");
                    writer.Write(path);
                    writer.Write('"');
                }
                writer.Write("}}\n");
            }
        }
    }
}
