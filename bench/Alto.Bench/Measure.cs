using System.Diagnostics;
using System.Globalization;

namespace Alto.Bench;

/// <summary>Runs a program and measures its wall time, peak resident memory (VmHWM, polled from /proc) and CPU time.</summary>
public static class Measure
{
    /// <summary>A finished run; <paramref name="CpuSeconds"/> is user + system time of the program and the children it waited for.</summary>
    public sealed record Run(TimeSpan Elapsed, long PeakRssBytes, int ExitCode, string Output, double CpuSeconds = 0);

    /// <summary>The value below which <paramref name="fraction"/> of <paramref name="values"/> lie (nearest rank); 0 for none.</summary>
    public static double Percentile(double[] values, double fraction)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[(int)Math.Min(sorted.Length - 1, Math.Ceiling(fraction * sorted.Length) - 1)];
    }

    public static async Task<Run> ProcessAsync(string file, IEnumerable<string> arguments, string? standardOutputTo = null)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DOTNET_NOLOGO"] = "1";
        var cpuBefore = WaitedChildrenCpuSeconds();
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        Task<string> stdout;
        if (standardOutputTo is null)
        {
            stdout = process.StandardOutput.ReadToEndAsync();
        }
        else
        {
            // Like "> /dev/null": the output is consumed, not kept.
            stdout = Task.Run(async () =>
            {
                var buffer = new char[1 << 16];
                while (await process.StandardOutput.ReadAsync(buffer) > 0)
                {
                }
                return "";
            });
        }
        long peak = 0;
        while (!process.HasExited)
        {
            peak = Math.Max(peak, ReadPeakRss(process.Id));
            await Task.Delay(20);
        }
        await process.WaitForExitAsync();
        clock.Stop();
        return new Run(clock.Elapsed, peak, process.ExitCode, await stdout + await stderr, WaitedChildrenCpuSeconds() - cpuBefore);
    }

    /// <summary>
    /// CPU time of this process's children that have ended and been waited for (cutime + cstime of
    /// /proc/self/stat, in the kernel's 100 Hz ticks): its growth over a run is that run's CPU.
    /// </summary>
    private static double WaitedChildrenCpuSeconds()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        // The fields after the command name, which is in parentheses and may hold spaces; cutime and cstime are fields 16 and 17.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static long ReadPeakRss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
            // The process ended between the check and the read.
        }
        return 0;
    }
}
