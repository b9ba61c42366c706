using System.Diagnostics;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using Alto.Agent.Enrollment;
using Alto.TestSupport;
using Alto.Tiering;
using Npgsql;
using NpgsqlTypes;

namespace Alto.Bench;

/// <summary>
/// bench/run.sh reconcile [--objects N]: the sanitizer's real pipeline — a gateway process (with
/// its silo) and the real agent (alto-agent run) — on a path target of N objects, with damage put
/// at known places: objects deleted, truncated and changed (among the deep sample's keys), extra
/// objects no record names, and on the agent's host a stub deleted, a stub replaced by a real
/// file and a record deleted. The N records belong to a second host that is offline (its census
/// is counted unchecked); the agent's host lists the target and answers the census of its own
/// stubs. Baseline: find listing the same tree. The object tree is generated once and reused.
/// </summary>
[SupportedOSPlatform("linux")]
public static class ReconcileBench
{
    private const int Damage = 100;
    private const int SamplePercent = 1;
    private const string CachedTenant = "tenant";
    /// <summary>
    /// Six parts of 10,000 objects a warm-up run: most of a run's code is called once per part, and
    /// the runtime compiles a method with counters after 30 calls and optimised after 30 more (with
    /// two parts a run, a profile of the measured run found the agent and gateway still compiling:
    /// a fifth of their CPU time).
    /// </summary>
    private const int WarmUpObjects = 60_000;

    /// <summary>Warm-up runs before the measured one: 10 of six parts each take every per-part method past both thresholds.</summary>
    private const int WarmUpRuns = 10;

    public static async Task<Dictionary<string, object>> RunAsync(string work, int objects)
    {
        var cache = Path.Combine(work, $"reconcile-{objects}");
        var store = Path.Combine(work, "reconcile-store");
        if (Directory.Exists(store))
        {
            // Left by a run that was cut off: its tenant's damaged tree.
            Directory.Delete(store, recursive: true);
        }
        Directory.CreateDirectory(store);
        var hashes = await EnsureObjectsAsync(cache, objects);

        await using var database = await TestDatabase.CreateAsync("reconcile");
        await using var gateway = await GatewayProcess.StartAsync(database, "reconcile", new Dictionary<string, string>(), TimeSpan.FromSeconds(120));
        using var admin = await AdminApi.SignInAsync(gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenantId = await admin.CreateTenantAsync($"rec-{Guid.NewGuid():N}"[..20]);
        var targetId = (await admin.PostAsync($"/api/v1/tenants/{tenantId}/targets", new { name = "nas", kind = "path", settings = new { path = store } })).GetProperty("id").GetGuid();
        var tenantFolder = Path.Combine(store, tenantId.ToString("N"));
        // The tree is the tenant's for this run (a rename, not a copy), and the cache's again after it.
        Directory.Move(Path.Combine(cache, CachedTenant), tenantFolder);
        using var volume = ScratchFileSystem.TryCreate(out var whyNot, megabytes: 64) ?? throw new InvalidOperationException(whyNot);
        var state = Directory.CreateTempSubdirectory("alto-bench-reconcile-agent-").FullName;
        var undo = new List<Func<Task>>();
        try
        {
            var (agentHost, token) = await admin.RegisterHostAsync(tenantId, "fs-agent", volume.Root);
            var (offlineHost, _) = await admin.RegisterHostAsync(tenantId, "fs-offline", "/srv");
            using var http = new HttpClient();
            var credentials = await new EnrollmentClient(http).EnrollAsync(gateway.HttpUrl, gateway.GrpcUrl, token, CancellationToken.None);
            await credentials.SaveAsync(state, CancellationToken.None);

            var keys = hashes.Select(hash => $"{tenantId:N}/{hash[..2]}/{hash[2..4]}/{hash}").ToArray();
            await InsertRecordsAsync(gateway.Database, tenantId, offlineHost, targetId, keys, hashes);
            var injected = await InjectTierTwoDamageAsync(tenantFolder, tenantId, keys, hashes, store, undo);
            var drift = await MakeAgentStubsWithDriftAsync(gateway.Database, volume.Root, tenantId, agentHost, targetId, new PathTierStore(store), undo);

            await using var agent = ProgramRun.Start(BenchAgent.Dll, new Dictionary<string, string>(), "run", "--state-dir", state);
            await WaitAsync(async () => await gateway.Database.CountAsync($"SELECT count(*) FROM alto.host WHERE id = '{agentHost}' AND status = 'online'") == 1,
                "the agent online", agent);
            var warmUp = await WarmUpAsync(work, admin, gateway.Database, tenantId, agent, undo);

            string[] find = [tenantFolder, "-type", "f", "-printf", "%p %s %T@\n"];
            await Measure.ProcessAsync("find", find, standardOutputTo: "null"); // warm the inode cache for both
            var baseline = await Measure.ProcessAsync("find", find, standardOutputTo: "null");
            // The store's own ordered listing, in this process: how much of the run is reading the tree.
            var listClock = Stopwatch.StartNew();
            await foreach (var _ in new PathTierStore(store).ListAsync(tenantId, null, CancellationToken.None))
            {
            }
            var storeListing = listClock.Elapsed;

            var (agentCpuBefore, gatewayCpuBefore) = (CpuSeconds(agent.ProcessId), CpuSeconds(gateway.Run.ProcessId));
            var clock = Stopwatch.StartNew();
            var started = await admin.PostAsync($"/api/v1/tenants/{tenantId}/targets/{targetId}/reconcile",
                new { depth = "deep", samplePercent = SamplePercent, requestsPerSecond = 100_000, allowMassLoss = false });
            var runId = started.GetProperty("runId").GetGuid();
            var status = "";
            TimeSpan? listedAt = null;
            await WaitAsync(async () =>
            {
                status = await gateway.Database.ScalarAsync<string>($"SELECT status FROM alto.reconcile_run WHERE id = '{runId}'");
                listedAt ??= status == "listing" ? null : clock.Elapsed;
                return status is "completed" or "failed";
            }, "the run ended", agent, TimeSpan.FromMinutes(60), TimeSpan.FromMilliseconds(100));
            var elapsed = clock.Elapsed;
            var (agentCpu, gatewayCpu) = (CpuSeconds(agent.ProcessId) - agentCpuBefore, CpuSeconds(gateway.Run.ProcessId) - gatewayCpuBefore);
            var agentPeak = PeakRssMegabytes(agent.ProcessId);
            var gatewayPeak = PeakRssMegabytes(gateway.Run.ProcessId);
            if (status != "completed")
            {
                throw new InvalidOperationException("the run failed: " + await gateway.Database.ScalarAsync<string>($"SELECT error FROM alto.reconcile_run WHERE id = '{runId}'"));
            }
            var found = await FoundAsync(gateway.Database, runId);
            var notLookedAt = await gateway.Database.CountAsync($"SELECT census_unchecked FROM alto.reconcile_run WHERE id = '{runId}'");
            var listed = objects - Damage + Damage + drift.Extra;
            var altoRate = listed / elapsed.TotalSeconds;
            var findRate = listed / baseline.Elapsed.TotalSeconds;
            await agent.StopAsync(TimeSpan.FromSeconds(30));
            return new Dictionary<string, object>
            {
                ["bench"] = "reconcile",
                ["objects"] = listed,
                ["depth"] = $"deep, {SamplePercent}% sample",
                ["alto_seconds"] = Math.Round(elapsed.TotalSeconds, 1),
                ["listing_seconds"] = Math.Round(listedAt!.Value.TotalSeconds, 1),
                ["store_listing_only_seconds"] = Math.Round(storeListing.TotalSeconds, 2),
                ["warm_up"] = warmUp,
                ["alto_per_s"] = Math.Round(altoRate),
                ["baseline"] = "find -type f -printf '%p %s %T@' over the same tree",
                ["baseline_per_s"] = Math.Round(findRate),
                ["ratio"] = Math.Round(altoRate / findRate, 3),
                ["peak_rss_mb"] = agentPeak,
                ["gateway_and_silo_peak_rss_mb"] = gatewayPeak,
                // Where the time goes on a small machine: the processes' CPU during the run (PostgreSQL has the rest).
                ["agent_cpu_seconds"] = Math.Round(agentCpu, 1),
                ["gateway_and_silo_cpu_seconds"] = Math.Round(gatewayCpu, 1),
                // The deleted stub's object loses its record and is an orphan too.
                ["injected"] = new Dictionary<string, int>(injected)
                {
                    ["orphan.unreferenced"] = injected["orphan.unreferenced"] + 1, ["drift.stub_deleted"] = 1, ["drift.stub_replaced"] = 1, ["drift.stub_without_record"] = 1,
                },
                ["found"] = found,
                ["census_unchecked"] = notLookedAt,
                ["goal"] = "found = injected for every class, ratio >= 0.5, peak_rss_mb <= 256",
            };
        }
        finally
        {
            foreach (var step in undo)
            {
                await step();
            }
            Directory.Move(tenantFolder, Path.Combine(cache, CachedTenant));
            Directory.Delete(state, recursive: true);
        }
    }

    /// <summary>
    /// Runs over a small second path target first, by the same agent and gateway: the measured
    /// run then finds the code compiled and optimised, as in a service that has run for a while (a
    /// process's first runs pay for compiling their code paths: measured, several CPU seconds in the
    /// gateway alone). Their own times are reported beside the measured run's.
    /// </summary>
    private static async Task<Dictionary<string, object>> WarmUpAsync(string work, AdminApi admin, TestDatabase database, Guid tenantId, ProgramRun agent,
        List<Func<Task>> undo)
    {
        var objects = WarmUpObjects;
        var cache = Path.Combine(work, $"reconcile-warm-{objects}");
        var hashes = await EnsureObjectsAsync(cache, objects);
        var store = Path.Combine(work, "reconcile-warm-store");
        if (Directory.Exists(store))
        {
            Directory.Delete(store, recursive: true);
        }
        Directory.CreateDirectory(store);
        var targetId = (await admin.PostAsync($"/api/v1/tenants/{tenantId}/targets", new { name = "warm-up", kind = "path", settings = new { path = store } })).GetProperty("id").GetGuid();
        var tenantFolder = Path.Combine(store, tenantId.ToString("N"));
        Directory.Move(Path.Combine(cache, CachedTenant), tenantFolder);
        undo.Add(() =>
        {
            Directory.Move(tenantFolder, Path.Combine(cache, CachedTenant));
            return Task.CompletedTask;
        });
        var (host, _) = await admin.RegisterHostAsync(tenantId, "fs-warm-up", "/srv");
        await InsertRecordsAsync(database, tenantId, host, targetId, [.. hashes.Select(hash => $"{tenantId:N}/{hash[..2]}/{hash[2..4]}/{hash}")], hashes);
        var seconds = new List<double>(WarmUpRuns);
        var statuses = new List<string>(WarmUpRuns);
        for (var round = 0; round < WarmUpRuns; round++)
        {
            var clock = Stopwatch.StartNew();
            var runId = (await admin.PostAsync($"/api/v1/tenants/{tenantId}/targets/{targetId}/reconcile",
                new { depth = "deep", samplePercent = SamplePercent, requestsPerSecond = 100_000, allowMassLoss = false })).GetProperty("runId").GetGuid();
            await WaitAsync(async () => await database.ScalarAsync<string>($"SELECT status FROM alto.reconcile_run WHERE id = '{runId}'") is "completed" or "failed",
                "the warm-up run ended", agent, TimeSpan.FromMinutes(10), TimeSpan.FromMilliseconds(100));
            seconds.Add(Math.Round(clock.Elapsed.TotalSeconds, 1));
            statuses.Add(await database.ScalarAsync<string>($"SELECT status FROM alto.reconcile_run WHERE id = '{runId}'"));
        }
        return new Dictionary<string, object> { ["objects"] = objects, ["runs"] = WarmUpRuns, ["seconds"] = seconds, ["status"] = statuses.Distinct().ToArray() };
    }

    /// <summary>The object tree (contents "object {i}"), generated once; the hashes, which name the objects.</summary>
    private static async Task<string[]> EnsureObjectsAsync(string cache, int objects)
    {
        var hashes = Enumerable.Range(0, objects).Select(i => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Content(i))))).ToArray();
        var done = Path.Combine(cache, "complete");
        var root = Path.Combine(cache, CachedTenant);
        // A run cut off before it gave the tree back (and repaired its damage) leaves no tree here: it is generated again.
        if (File.Exists(done) && Directory.Exists(root))
        {
            return hashes;
        }
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
        await Console.Error.WriteLineAsync($"generating {objects} objects in {root}");
        await Parallel.ForEachAsync(Enumerable.Range(0, objects), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, cancellationToken) =>
        {
            var folder = Path.Combine(root, hashes[i][..2], hashes[i][2..4]);
            Directory.CreateDirectory(folder);
            await File.WriteAllTextAsync(Path.Combine(folder, hashes[i]), Content(i), cancellationToken);
        });
        await File.WriteAllTextAsync(done, objects.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return hashes;
    }

    private static string Content(int i) => $"object {i} of the reconcile bench";

    /// <summary>A file and a STUBBED record per object, for the offline host (COPY into the inventory, then one INSERT … SELECT).</summary>
    private static async Task InsertRecordsAsync(TestDatabase database, Guid tenantId, Guid hostId, Guid targetId, string[] keys, string[] hashes)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE bench_object (n int, key text, hash text, size bigint)", connection))
        {
            await create.ExecuteNonQueryAsync();
        }
        await using (var import = await connection.BeginBinaryImportAsync("COPY bench_object (n, key, hash, size) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < keys.Length; i++)
            {
                await import.StartRowAsync();
                await import.WriteAsync(i, NpgsqlDbType.Integer);
                await import.WriteAsync(keys[i], NpgsqlDbType.Text);
                await import.WriteAsync(hashes[i], NpgsqlDbType.Text);
                await import.WriteAsync((long)Encoding.UTF8.GetByteCount(Content(i)), NpgsqlDbType.Bigint);
            }
            await import.CompleteAsync();
        }
        await using var insert = new NpgsqlCommand("""
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc, is_stub)
            SELECT $1, $2, 0, 'f' || n, '/srv/d' || (n / 1000) || '/f' || n, size, 0, 0, 0, 'bin', 0, 0, now(), true FROM bench_object;
            """, connection);
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        await insert.ExecuteNonQueryAsync();
        await using var records = new NpgsqlCommand("""
            INSERT INTO alto.tier_object (tenant_id, host_id, file_current_id, full_path, state, target_id, size_bytes, hash, locator, acted_utc)
            SELECT $1, $2, f.file_current_id, f.full_path, 'STUBBED', $3, o.size, o.hash, o.key, now() - interval '1 hour'
            FROM bench_object o JOIN alto.file_current f ON f.host_id = $2 AND f.full_path = '/srv/d' || (o.n / 1000) || '/f' || o.n
            """, connection);
        records.CommandTimeout = 600;
        records.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        records.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        records.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
        await records.ExecuteNonQueryAsync();
        // Records tiered a while ago, as autovacuum leaves them (it vacuums a table after bulk inserts):
        // their pages all-visible, so a part's key range is read from the records' index alone.
        // Apart: VACUUM does not run in the implicit transaction of a batch of statements.
        await using var vacuum = new NpgsqlCommand("VACUUM ANALYZE alto.tier_object", connection) { CommandTimeout = 600 };
        await vacuum.ExecuteNonQueryAsync();
        await using var analyze = new NpgsqlCommand("ANALYZE alto.file_current", connection);
        await analyze.ExecuteNonQueryAsync();
    }

    /// <summary>Deleted, truncated and changed objects at known places (changes among the sampled keys, so deep mode sees them), and extra objects.</summary>
    private static async Task<Dictionary<string, int>> InjectTierTwoDamageAsync(string tenantFolder, Guid tenantId, string[] keys, string[] hashes, string store,
        List<Func<Task>> undo)
    {
        string PathOf(int i) => Path.Combine(tenantFolder, hashes[i][..2], hashes[i][2..4], hashes[i]);
        var sampled = Enumerable.Range(0, keys.Length).Where(i => Convert.ToInt32(hashes[i][..4], 16) % 100 < SamplePercent).ToArray();
        var changed = sampled.Take(Damage).ToArray();
        var others = Enumerable.Range(0, keys.Length).Where(i => !changed.Contains(i)).ToArray();
        // The tree is reused by the next run: every damage is undone after this one.
        foreach (var i in others.Take(2 * Damage).Concat(changed))
        {
            var index = i;
            undo.Add(() => File.WriteAllTextAsync(PathOf(index), Content(index)));
        }
        foreach (var i in others.Take(Damage))
        {
            File.Delete(PathOf(i));
        }
        foreach (var i in others.Skip(Damage).Take(Damage))
        {
            await File.WriteAllTextAsync(PathOf(i), "cut");
        }
        foreach (var i in changed)
        {
            var bytes = await File.ReadAllBytesAsync(PathOf(i));
            bytes[0] ^= 0x20;
            await File.WriteAllBytesAsync(PathOf(i), bytes);
        }
        var extras = new PathTierStore(store);
        for (var i = 0; i < Damage; i++)
        {
            var extra = await extras.PutAsync(tenantId, new MemoryStream(Encoding.UTF8.GetBytes($"an object no record names, {i}")), CancellationToken.None);
            undo.Add(() => extras.DeleteAsync(extra.Key, CancellationToken.None));
        }
        return new Dictionary<string, int> { ["missing.absent"] = Damage, ["missing.short"] = Damage, ["missing.damaged"] = changed.Length, ["orphan.unreferenced"] = Damage };
    }

    /// <summary>
    /// Six real stubs on the agent's volume with their records (and the inventory marking them
    /// stubs, as a scan does); then one deleted, one replaced by a real file, one record deleted.
    /// </summary>
    private static async Task<(int Extra, string[] Paths)> MakeAgentStubsWithDriftAsync(
        TestDatabase database, string volume, Guid tenantId, Guid hostId, Guid targetId, PathTierStore store, List<Func<Task>> undo)
    {
        var paths = Enumerable.Range(0, 6).Select(i => Path.Combine(volume, $"stub-{i}.bin")).ToArray();
        foreach (var path in paths)
        {
            await File.WriteAllTextAsync(path, $"the data of {Path.GetFileName(path)}, tiered");
            var stored = await BenchStubs.TierAsync(path, store, tenantId, targetId);
            undo.Add(() => store.DeleteAsync(stored.Key, CancellationToken.None));
            await database.ExecuteAsync($"""
                WITH f AS (
                    INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                                   file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc, is_stub)
                    VALUES ('{tenantId}', '{hostId}', 0, '{Path.GetFileName(path)}', '{path}', {stored.Length}, 0, 0, 0, 'bin', 0, 0, now(), true)
                    RETURNING file_current_id)
                INSERT INTO alto.tier_object (tenant_id, host_id, file_current_id, full_path, state, target_id, size_bytes, hash, locator, acted_utc)
                SELECT '{tenantId}', '{hostId}', f.file_current_id, '{path}', 'STUBBED', '{targetId}', {stored.Length}, '{stored.Sha256}', '{stored.Key}', now() - interval '1 hour' FROM f
                """);
        }
        File.Delete(paths[0]);
        await File.WriteAllTextAsync(paths[1] + ".new", "a real file again");
        File.Move(paths[1] + ".new", paths[1], overwrite: true);
        await database.ExecuteAsync($"DELETE FROM alto.tier_object WHERE host_id = '{hostId}' AND full_path = '{paths[2]}'");
        return (paths.Length, paths);
    }

    private static async Task<Dictionary<string, long>> FoundAsync(TestDatabase database, Guid runId)
    {
        var found = new Dictionary<string, long>();
        await using var command = database.DataSource.CreateCommand($"SELECT class || '.' || kind, count(*) FROM alto.reconcile_finding WHERE run_id = '{runId}' GROUP BY 1 ORDER BY 1");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            found[reader.GetString(0)] = reader.GetInt64(1);
        }
        return found;
    }

    /// <summary>A process's peak resident memory so far (VmHWM), in MiB.</summary>
    /// <summary>User and system CPU a process has used so far (/proc/PID/stat, in clock ticks of 1/100 s).</summary>
    private static double CpuSeconds(int processId)
    {
        var stat = File.ReadAllText($"/proc/{processId}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / 100.0;
    }

    private static long PeakRssMegabytes(int processId) =>
        File.ReadLines($"/proc/{processId}/status").Where(line => line.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Select(line => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024)
            .FirstOrDefault();

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, ProgramRun agent, TimeSpan? patience = null, TimeSpan? every = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromMinutes(2));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not happen in time; agent output:\n{agent.Output}");
            }
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(500));
        }
    }
}
