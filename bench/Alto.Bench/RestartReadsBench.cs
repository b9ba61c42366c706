using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using Alto.Agent.Enrollment;
using Alto.TestSupport;

namespace Alto.Bench;

/// <summary>
/// bench/run.sh restart-reads: a real gateway and the real agent tier 1,000 files on a volume of
/// their own; then reader processes open and hash those stubs, spaced out, while the agent is
/// restarted ten times, alternately stopped (SIGTERM, as an upgrade does) and killed (SIGKILL).
/// Every read is classified: the original bytes, zeros (a hole read as data: must never happen),
/// other wrong bytes (must never happen), or an error. The baseline is the same readers on the
/// same files once they are plain files again.
/// </summary>
[SupportedOSPlatform("linux")]
public static class RestartReadsBench
{
    private const int Files = 1000;
    private const int FileSize = 256 << 10;
    private const int Restarts = 10;
    private const int Readers = 2;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(5);
    private static readonly string AgentDll = BenchAgent.Dll;

    public static async Task<Dictionary<string, object>> RunAsync()
    {
        using var volume = ScratchFileSystem.TryCreate(out var whyNot, megabytes: 1024) ?? throw new InvalidOperationException(whyNot);
        var work = Directory.CreateTempSubdirectory("alto-bench-restarts-").FullName;
        var state = Path.Combine(work, "state");
        await using var gateway = await GatewayProcess.StartAsync("bench_restart_reads", Patience);
        try
        {
            var (admin, tenant, host) = await EnrollAsync(gateway, volume.Root, Path.Combine(work, "tier2"), state);
            using var adminScope = admin;
            var expected = WriteFiles(volume.Root);
            var agent = StartAgent(state);
            await using (var scan = ProgramRun.Start(AgentDll, new Dictionary<string, string>(), "scan", "--state-dir", state))
            {
                Require(await scan.WaitForExitAsync(Patience) == 0, "the scan failed: " + scan.Output);
            }
            await WaitAsync(async () => await CountAsync(gateway, host, "STUBBED") == Files, "every file stubbed", agent);

            // Readers go through the stubs, one file every ~60 ms each, while the agent restarts.
            var lists = expected.Keys.Chunk(Files / Readers).Select(chunk => chunk.ToArray()).ToArray();
            var readers = lists.Select(list => ReadAsync(list, spacingMilliseconds: 60)).ToArray();
            var (stops, kills) = (0, 0);
            for (var restart = 0; restart < Restarts; restart++)
            {
                await Task.Delay(TimeSpan.FromSeconds(1.5));
                if (restart % 2 == 0)
                {
                    await agent.StopAsync(TimeSpan.FromSeconds(60));
                    stops++;
                }
                else
                {
                    await agent.KillAsync();
                    kills++;
                }
                await agent.DisposeAsync();
                agent = StartAgent(state);
            }
            var reads = (await Task.WhenAll(readers)).SelectMany(result => result).ToArray();

            // Whatever got an error reads whole now that the agent is back; then the baseline on plain files.
            var after = await ReadAsync([.. expected.Keys], spacingMilliseconds: 0);
            var baseline = await ReadAsync([.. expected.Keys], spacingMilliseconds: 0);
            await agent.StopAsync(TimeSpan.FromSeconds(60));
            await agent.DisposeAsync();

            var zeros = Convert.ToHexStringLower(SHA256.HashData(new byte[FileSize]));
            var ok = reads.Count(read => read.Sha256 == expected[read.Path]);
            var zeroReads = reads.Count(read => read.Sha256 == zeros);
            var wrong = reads.Count(read => read.Sha256 is { } sha && sha != expected[read.Path] && sha != zeros);
            var errors = reads.Count(read => read.Sha256 is null);
            return new Dictionary<string, object>
            {
                ["bench"] = "restart-reads",
                ["stubs"] = Files,
                ["file_kib"] = FileSize >> 10,
                ["readers"] = Readers,
                ["restarts"] = Restarts,
                ["sigterm"] = stops,
                ["sigkill"] = kills,
                ["reads"] = reads.Length,
                ["right_bytes"] = ok,
                ["zero_reads"] = zeroReads,
                ["wrong_bytes"] = wrong,
                ["errors"] = errors,
                ["max_block_ms"] = Math.Round(reads.Max(read => read.Milliseconds), 1),
                ["p99_block_ms"] = Math.Round(Measure.Percentile([.. reads.Select(read => read.Milliseconds)], 0.99), 1),
                ["after_right_bytes"] = after.Count(read => read.Sha256 == expected[read.Path]),
                ["baseline"] = "the same readers on the same files as plain files",
                ["baseline_max_ms"] = Math.Round(baseline.Max(read => read.Milliseconds), 1),
                ["baseline_p99_ms"] = Math.Round(Measure.Percentile([.. baseline.Select(read => read.Milliseconds)], 0.99), 1),
                ["goal"] = "zero_reads = wrong_bytes = 0",
            };
        }
        finally
        {
            await AgentStateFolder.DeleteAsync(state);
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>A tenant whose plans go out at once, a path target, a rule for old files, the host with the volume, enrolled.</summary>
    private static async Task<(AdminApi Admin, Guid Tenant, Guid Host)> EnrollAsync(GatewayProcess gateway, string volume, string tier2, string state)
    {
        Directory.CreateDirectory(tier2);
        var admin = await AdminApi.SignInAsync(gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenant = await admin.CreateTenantAsync("restart-reads", tierAtOnce: true);
        var target = (await admin.PostAsync($"/api/v1/tenants/{tenant}/targets", new { name = "nas", kind = "path", settings = new { path = tier2 } })).GetProperty("id").GetGuid();
        await admin.PostAsync($"/api/v1/tenants/{tenant}/rules", new { name = "old", targetId = target, criteria = new { modifiedOlderThanDays = 30 } });
        var (host, token) = await admin.RegisterHostAsync(tenant, "fs-bench", volume);
        using var http = new HttpClient();
        var client = new EnrollmentClient(http);
        var credentials = await client.EnrollAsync(gateway.HttpUrl, gateway.GrpcUrl, token, CancellationToken.None);
        await credentials.SaveAsync(state, CancellationToken.None);
        await client.ConfirmAsync(credentials, CancellationToken.None);
        return (admin, tenant, host);
    }

    private static Dictionary<string, string> WriteFiles(string root)
    {
        var expected = new Dictionary<string, string>();
        var bytes = new byte[FileSize];
        var old = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < Files; i++)
        {
            Random.Shared.NextBytes(bytes);
            var path = Path.Combine(root, $"f{i:D4}.bin");
            File.WriteAllBytes(path, bytes);
            File.SetLastWriteTimeUtc(path, old);
            expected[path] = Convert.ToHexStringLower(SHA256.HashData(bytes));
        }
        return expected;
    }

    private static ProgramRun StartAgent(string state) => ProgramRun.Start(AgentDll, new Dictionary<string, string>(), "run", "--state-dir", state);

    private sealed record Read(string Path, string? Sha256, double Milliseconds);

    /// <summary>A reader process (Alto.Bench hash-files): opens and hashes each file, spaced out.</summary>
    private static async Task<Read[]> ReadAsync(string[] paths, int spacingMilliseconds)
    {
        var list = Path.GetTempFileName();
        await File.WriteAllLinesAsync(list, paths);
        var run = await Measure.ProcessAsync("dotnet", [typeof(RestartReadsBench).Assembly.Location, "hash-files", list, spacingMilliseconds.ToString(CultureInfo.InvariantCulture)]);
        File.Delete(list);
        return
        [
            .. run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')).Where(parts => parts.Length == 3)
                .Select(parts => new Read(parts[2], parts[0] == "error" ? null : parts[0], double.Parse(parts[1], CultureInfo.InvariantCulture))),
        ];
    }

    /// <summary>The reader mode: prints "sha256|error TAB milliseconds TAB path" per file.</summary>
    public static int HashFiles(IEnumerable<string> paths, int spacingMilliseconds)
    {
        foreach (var path in paths)
        {
            var clock = Stopwatch.StartNew();
            string sha;
            try
            {
                using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                sha = Convert.ToHexStringLower(SHA256.HashData(file));
            }
            catch (IOException)
            {
                sha = "error";
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{sha}\t{clock.Elapsed.TotalMilliseconds}\t{path}"));
            Thread.Sleep(spacingMilliseconds);
        }
        return 0;
    }

    private static Task<long> CountAsync(GatewayProcess gateway, Guid host, string state) =>
        gateway.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host}' AND state = '{state}'");

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, ProgramRun agent)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            Require(DateTime.UtcNow < deadline, $"{what} did not happen in time: {agent.Output[^Math.Min(agent.Output.Length, 3000)..]}");
            await Task.Delay(250);
        }
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }
}
