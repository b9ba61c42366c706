using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text.Json;
using Alto.Agent.Jobs;
using Alto.Agent.Stubs;
using Alto.Tiering;
using Alto.TestSupport;

namespace Alto.Bench;

/// <summary>
/// bench/run.sh tier: 2 GiB in files of mixed sizes tiered to a path target on the same disk,
/// end to end through the agent (alto-agent tier: re-check, copy inside the kernel, read the copy
/// back for its SHA-256 and check, compare with the file read again, flush, stub), against cp of
/// the same files plus sync. The files are on a
/// loop-mounted ext4 volume of their own (stubs are made only where recall is armed, never on the
/// root file system); the copy and the tier-2 folder are on it too, so both sides write to the same place.
/// With <c>--disk memory</c> the volume's image lies on tmpfs: a disk as fast as memory, where
/// what is measured is the work each side does for its bytes, not the disk's speed of the hour.
/// </summary>
[SupportedOSPlatform("linux")]
public static class TierBench
{
    /// <summary>2 GiB: 1 × 512 MiB, 8 × 64 MiB, 128 × 4 MiB, 4096 × 128 KiB.</summary>
    private static readonly (int Count, int Size)[] Mix = [(1, 512 << 20), (8, 64 << 20), (128, 4 << 20), (4096, 128 << 10)];

    public static async Task<Dictionary<string, object>> RunAsync(string work, bool onMemoryDisk)
    {
        using var volume = ScratchFileSystem.TryCreate(out var whyNot, megabytes: 6 << 10, imageParent: onMemoryDisk ? "/dev/shm" : null)
                           ?? throw new InvalidOperationException(whyNot);
        var root = volume.Root;
        var state = Path.Combine(work, "tier-state");
        if (Directory.Exists(state))
        {
            Directory.Delete(state, recursive: true);
        }
        var source = Path.Combine(root, "source");
        var copy = Path.Combine(root, "copy");
        var tier2 = Path.Combine(root, "tier2");
        Directory.CreateDirectory(source);
        var files = Generate(source);
        var bytes = files.Sum(f => f.PlannedSize);
        // The generated files are written out before either side is timed: else the baseline's sync would write them too.
        if ((await Measure.ProcessAsync("sync", [])).ExitCode != 0)
        {
            throw new InvalidOperationException("sync failed");
        }

        var cp = await Measure.ProcessAsync("/bin/sh", ["-c", $"cp -r '{source}' '{copy}' && sync"]);
        Directory.Delete(copy, recursive: true);

        var job = new TieringJob(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), new TierTarget("path", tier2), files);
        var jobFile = Path.Combine(root, "job.json");
        await File.WriteAllTextAsync(jobFile, JsonSerializer.Serialize(job, JsonSerializerOptions.Web));
        var agent = BenchAgent.Dll;
        await StartRecallGuardAsync(agent, state);
        var alto = await Measure.ProcessAsync("dotnet", [agent, "tier", "--job", jobFile, "--state-dir", state]);
        if (alto.ExitCode != 0)
        {
            throw new InvalidOperationException("alto-agent tier failed: " + alto.Output[^Math.Min(alto.Output.Length, 2000)..]);
        }
        // Looked at by path only: opening a stub here, with no agent running, would wait for one.
        var stubs = files.Count(f => LinuxStubs.Peek(f.Path) is not null);
        // The state folder goes first: its recall guard ends with it, and the volume can go.
        await AgentStateFolder.DeleteAsync(state);
        return new Dictionary<string, object>
        {
            ["bench"] = "tier",
            ["disk"] = onMemoryDisk ? "memory (the volume's image on tmpfs)" : "local",
            ["files"] = files.Count,
            ["bytes"] = bytes,
            ["stubbed"] = stubs,
            ["alto_seconds"] = Math.Round(alto.Elapsed.TotalSeconds, 2),
            ["alto_mib_per_s"] = Math.Round(bytes / alto.Elapsed.TotalSeconds / (1 << 20)),
            ["alto_peak_rss_mb"] = alto.PeakRssBytes >> 20,
            ["alto_cpu_seconds"] = Math.Round(alto.CpuSeconds, 2),
            ["baseline"] = "cp -r + sync",
            ["baseline_seconds"] = Math.Round(cp.Elapsed.TotalSeconds, 2),
            ["baseline_mib_per_s"] = Math.Round(bytes / cp.Elapsed.TotalSeconds / (1 << 20)),
            ["baseline_cpu_seconds"] = Math.Round(cp.CpuSeconds, 2),
            ["ratio"] = Math.Round(cp.Elapsed.TotalSeconds / alto.Elapsed.TotalSeconds, 3),
            ["goal"] = "ratio >= 0.7",
        };
    }

    /// <summary>
    /// Starts the recall guard before the clock, as a deployed agent has it (alto-agent-guard.service
    /// runs all the time): else the tier command would start one and wait for it, and the bench would
    /// time a process start that a host pays once. It ends when the state folder is deleted.
    /// </summary>
    private static async Task StartRecallGuardAsync(string agent, string state)
    {
        var start = new ProcessStartInfo("dotnet", [agent, "guard", "--state-dir", state])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using (var guard = Process.Start(start) ?? throw new InvalidOperationException("the recall guard did not start"))
        {
            // The guard redirects its own streams: none of the bench's pipes stays open in it.
            guard.StandardInput.Close();
            guard.StandardOutput.Close();
            guard.StandardError.Close();
        }
        var socket = Alto.Agent.Recall.RecallGuard.SocketPath(state);
        for (var waited = 0; !File.Exists(socket); waited += 50)
        {
            if (waited > 30_000)
            {
                throw new InvalidOperationException($"the recall guard did not listen within 30 s (see {Path.Combine(state, Alto.Agent.Recall.RecallGuard.LogName)})");
            }
            await Task.Delay(50);
        }
        // The socket is bound just before it listens.
        await Task.Delay(200);
    }

    private static List<JobFile> Generate(string folder)
    {
        var files = new List<JobFile>();
        var buffer = new byte[1 << 20];
        Random.Shared.NextBytes(buffer);
        foreach (var (count, size) in Mix)
        {
            for (var i = 0; i < count; i++)
            {
                var path = Path.Combine(folder, $"{size >> 10}k-{i:D5}.bin");
                using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
                {
                    for (var written = 0; written < size; written += buffer.Length)
                    {
                        // A different first byte per chunk keeps every file distinct (no de-duplication).
                        buffer[0] = (byte)(files.Count + written);
                        buffer[1] = (byte)(files.Count >> 8);
                        file.Write(buffer, 0, Math.Min(buffer.Length, size - written));
                    }
                }
                var status = new FileInfo(path);
                files.Add(new JobFile(files.Count + 1, path, status.Length, new DateTimeOffset(status.LastWriteTimeUtc).ToUnixTimeSeconds()));
            }
        }
        return files;
    }
}
