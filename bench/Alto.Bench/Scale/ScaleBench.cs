using System.Diagnostics;

namespace Alto.Bench.Scale;

/// <summary>
/// bench/run.sh scale [--hosts N] [--files N]: a cluster of separate processes (3 silos, 2 client
/// gateways) under N simulated hosts (default 100) of N files each (default 100,000), through the
/// real agent protocol: every host uploads its scan at once, the tenants plan, every host takes its
/// 1,000-file jobs and reports them done, and every host sends a LucidLink batch. The same run is
/// made first with a tenth of the hosts, so that the per-file cost of ingest and plan at 1 M and at
/// 10 M files come from one run on the same machine.
/// </summary>
public static class ScaleBench
{
    private static readonly TimeSpan StagePatience = TimeSpan.FromMinutes(45);

    public static async Task<Dictionary<string, object>> RunAsync(int hosts, int filesPerHost)
    {
        var smaller = await RoundAsync(Math.Max(1, hosts / 10), filesPerHost);
        var full = await RoundAsync(hosts, filesPerHost);
        var result = new Dictionary<string, object>
        {
            ["bench"] = "scale",
            ["silos"] = ScaleCluster.Silos,
            ["gateways"] = ScaleCluster.Gateways,
        };
        foreach (var (name, value) in full)
        {
            result[name] = value;
        }
        result["smaller_run"] = smaller;
        result["ingest_cost_ratio"] = Math.Round((double)full["ingest_us_per_file"] / (double)smaller["ingest_us_per_file"], 3);
        result["plan_cost_ratio"] = Math.Round((double)full["plan_us_per_file"] / (double)smaller["plan_us_per_file"], 3);
        result["baseline"] = $"the same stages with {smaller["hosts"]} hosts in the same run (per-file cost ratios)";
        result["goal"] = "lost = 0, duplicated = 0, ingest_cost_ratio and plan_cost_ratio <= 1.2";
        return result;
    }

    private static async Task<Dictionary<string, object>> RoundAsync(int hosts, int filesPerHost)
    {
        Log($"{hosts} hosts × {filesPerHost:N0} files: starting {ScaleCluster.Silos} silos and {ScaleCluster.Gateways} gateways, enrolling the hosts");
        await using var cluster = await ScaleCluster.StartAsync(hosts);
        try
        {
            return await StagesAsync(cluster, hosts, filesPerHost);
        }
        catch
        {
            foreach (var line in cluster.Complaints())
            {
                await Console.Error.WriteLineAsync(line);
            }
            throw;
        }
    }

    private static async Task<Dictionary<string, object>> StagesAsync(ScaleCluster cluster, int hosts, int filesPerHost)
    {
        var files = (long)hosts * filesPerHost;
        var database = cluster.Database;
        var now = DateTimeOffset.UtcNow;
        var scans = await Task.WhenAll(cluster.Agents.Select(agent => Task.Run(() => SyntheticScan.Chunks(agent.Root, filesPerHost, now))));
        var figures = new Dictionary<string, object> { ["hosts"] = hosts, ["files"] = files };
        var grainCalls = await cluster.GrainCallsAsync();

        // Ingest: every host's scan uploaded at once, until every scan is merged.
        var uploads = new Latencies();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(cluster.Agents.Select((agent, i) => agent.UploadScanAsync(scans[i], uploads)));
        var uploaded = clock.Elapsed;
        await WaitUntilAsync(database, "SELECT count(*) FILTER (WHERE status = 'completed') FROM alto.scan", hosts,
            "SELECT count(*) FROM alto.scan WHERE status = 'failed'", "the scans merged");
        var ingest = clock.Elapsed;
        var live = await database.CountAsync("SELECT count(*) FROM alto.file_current WHERE deleted_utc IS NULL");
        grainCalls = Stage(figures, "ingest", files, ingest, uploads, grainCalls, await cluster.GrainCallsAsync());
        figures["ingest_staged_s"] = Math.Round(uploaded.TotalSeconds, 1);
        Log($"ingest: {files:N0} files in {ingest.TotalSeconds:0.0} s (all staged after {uploaded.TotalSeconds:0.0} s)");

        // Plan: one rule a tenant (not read for three years), every tenant planned at once.
        foreach (var (tenant, target) in cluster.Tenants)
        {
            await cluster.Admin.PostAsync($"/api/v1/tenants/{tenant}/rules", new { name = "cold", targetId = target, criteria = new { accessedOlderThanDays = 365 } });
        }
        var plans = new Latencies();
        clock.Restart();
        var planned = await Task.WhenAll(cluster.Tenants.Select(tenant => plans.TimeAsync(() =>
            cluster.Admin.PostAsync($"/api/v1/tenants/{tenant.Tenant}/plan?dryRun=false", new { }))));
        var plan = clock.Elapsed;
        var jobs = planned.Sum(summary => summary.GetProperty("changes").GetProperty("jobsCreated").GetInt64());
        var cold = (long)hosts * SyntheticScan.ColdFiles(filesPerHost);
        grainCalls = Stage(figures, "plan", files, plan, plans, grainCalls, await cluster.GrainCallsAsync());
        figures["jobs"] = jobs;
        Log($"plan: {files:N0} files in {plan.TotalSeconds:0.0} s, {jobs} jobs");

        // Dispatch: the hosts connect and report every file of their jobs stubbed.
        var reports = new Latencies();
        clock.Restart();
        await Task.WhenAll(cluster.Agents.Select(agent => agent.ConnectAsync(reports, TimeSpan.FromMinutes(2))));
        await WaitUntilAsync(database, "SELECT count(*) FROM alto.tier_object WHERE state = 'STUBBED'", cold,
            "SELECT count(*) FROM alto.tiering_job WHERE status = 'failed'", "the jobs done",
            // A host that cannot get a session back for minutes will not finish its jobs: stop there, with the processes' complaints.
            () => cluster.Agents.Select(agent => agent.Stranded(TimeSpan.FromMinutes(3))).FirstOrDefault(stranded => stranded is not null));
        var dispatch = clock.Elapsed;
        grainCalls = Stage(figures, "dispatch", cold, dispatch, reports, grainCalls, await cluster.GrainCallsAsync());
        Log($"dispatch: {cold:N0} files in {jobs} jobs in {dispatch.TotalSeconds:0.0} s");

        // LucidLink: every host sends one batch of 10,000 reads of files that stay on the host.
        var batches = new Latencies();
        var reads = Math.Min(10_000, filesPerHost - SyntheticScan.ColdFiles(filesPerHost));
        clock.Restart();
        var refusals = await Task.WhenAll(cluster.Agents.Select(agent => agent.SendReadsAsync(
            Enumerable.Range(0, filesPerHost).Where(file => !SyntheticScan.IsCold(file)).Take(reads).Select(file => SyntheticScan.PathOf(agent.Root, file)), batches)));
        await WaitUntilAsync(database, "SELECT count(*) FROM alto.audit_update_batch WHERE applied_at IS NOT NULL", hosts,
            "SELECT count(*) FROM alto.audit_update_batch WHERE failed_at IS NOT NULL", "the LucidLink batches applied");
        var trail = clock.Elapsed;
        var applied = await database.ScalarAsync<long>("SELECT coalesce(sum(applied), 0)::bigint FROM alto.audit_update_batch");
        Stage(figures, "lucidlink", (long)hosts * reads, trail, batches, grainCalls, await cluster.GrainCallsAsync());
        Log($"lucidlink: {(long)hosts * reads:N0} reads applied in {trail.TotalSeconds:0.0} s");

        // Nothing lost, nothing twice: every scanned file live once, every cold file stubbed once, every read applied.
        var stubbed = await database.CountAsync("SELECT count(*) FROM alto.tier_object WHERE state = 'STUBBED'");
        var doubledObjects = await database.CountAsync(
            "SELECT count(*) FROM (SELECT file_current_id FROM alto.tier_object GROUP BY file_current_id HAVING count(*) > 1) doubled");
        var sentTwice = cluster.Agents.Sum(agent => agent.JobsPerFile.Values.Count(count => count > 1));
        var refused = cluster.Agents.Sum(agent => agent.Refusals.Count) + refusals.Count(refusal => refusal is not null);
        figures["lost_files"] = Math.Max(0, files - live);
        figures["lost_stubs"] = Math.Max(0, cold - stubbed);
        figures["lost_reads"] = Math.Max(0, (long)hosts * reads - applied);
        figures["refused_reports"] = refused;
        figures["lucidlink_batches_retried"] = cluster.Agents.Sum(agent => agent.BatchesRetried);
        figures["sessions_lost"] = cluster.Agents.Sum(agent => agent.SessionsLost);
        figures["reports_deferred"] = cluster.Agents.Sum(agent => agent.ReportsDeferred);
        figures["lost"] = Math.Max(0, files - live) + Math.Max(0, cold - stubbed) + Math.Max(0, (long)hosts * reads - applied) + refused;
        figures["duplicated"] = Math.Max(0, live - files) + doubledObjects + sentTwice;
        var databaseBytes = await database.ScalarAsync<long>("SELECT pg_database_size(current_database())");
        var inventoryBytes = await database.ScalarAsync<long>("SELECT pg_total_relation_size('alto.file_current')");
        figures["db_bytes_per_file"] = databaseBytes / files;
        figures["inventory_bytes_per_file"] = inventoryBytes / files;
        figures["db_size_mb"] = databaseBytes >> 20;
        Log($"lost {figures["lost"]}, duplicated {figures["duplicated"]}, database {databaseBytes >> 20} MiB ({databaseBytes / files} bytes a file)");
        return figures;
    }

    /// <summary>Records a stage: files per second, microseconds per file, client p99 and the stage's own grain-call p99.</summary>
    private static GrainCallHistogram Stage(Dictionary<string, object> figures, string stage, long files, TimeSpan elapsed,
        Latencies requests, GrainCallHistogram before, GrainCallHistogram after)
    {
        var calls = after.Minus(before);
        figures[$"{stage}_s"] = Math.Round(elapsed.TotalSeconds, 1);
        figures[$"{stage}_files_per_s"] = Math.Round(files / elapsed.TotalSeconds);
        figures[$"{stage}_us_per_file"] = Math.Round(elapsed.TotalMicroseconds / files, 2);
        figures[$"{stage}_api_p99_ms"] = requests.P99Milliseconds;
        figures[$"{stage}_api_requests"] = requests.Count;
        figures[$"{stage}_grain_calls"] = (long)calls.Calls;
        figures[$"{stage}_grain_call_p99_ms"] = calls.QuantileMilliseconds(0.99);
        return after;
    }

    /// <summary>
    /// Polls until <paramref name="countSql"/> reaches <paramref name="expected"/>; fails at once when
    /// <paramref name="failedSql"/> counts any, or <paramref name="hopeless"/> says why it never will.
    /// </summary>
    private static async Task WaitUntilAsync(
        Alto.TestSupport.TestDatabase database, string countSql, long expected, string failedSql, string what, Func<string?>? hopeless = null)
    {
        var clock = Stopwatch.StartNew();
        while (await database.CountAsync(countSql) < expected)
        {
            if (await database.CountAsync(failedSql) > 0)
            {
                throw new InvalidOperationException($"waiting for {what}: {failedSql} counts failures");
            }
            if (hopeless?.Invoke() is { } reason)
            {
                throw new InvalidOperationException($"waiting for {what}: {await database.CountAsync(countSql)} of {expected}, and never more: {reason}");
            }
            if (clock.Elapsed > StagePatience)
            {
                throw new TimeoutException($"waiting for {what}: {await database.CountAsync(countSql)} of {expected} after {StagePatience}");
            }
            await Task.Delay(250);
        }
    }

    private static void Log(string message) => Console.Error.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss} {message}");
}
