using System.Runtime.Versioning;
using Alto.Agent.Tests.Jobs;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Metrics;

/// <summary>
/// What /metrics serves after real work (files tiered and recalled, a reconciliation run) passes
/// Prometheus's own linter, `promtool check metrics`: names, units and help as Prometheus
/// conventions want them, every series labelled with its tenant, and histograms in seconds
/// bucketed in seconds, so alert rules and dashboards read what they expect.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class MetricsFormatTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task TheMetricsAfterRealWorkPassPromtoolsChecks()
    {
        await using var world = await TieringWorld.CreateAsync(_gateway);
        var files = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var path = Path.Combine(world.Volume.Root, $"m-{i}.bin");
            await TieringWorld.WriteOldFileAsync(path, 70);
            files.Add(path);
        }
        var agent = world.StartAgent();
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") == files.Count, "every file stubbed", agent);
        await TieringWorld.ReadByAnotherProgramAsync(files[0]);
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'RECALLED'") == 1, "the read recalled", agent);
        // One stubbed file's object is gone from tier 2: the run finds it missing (the findings' series).
        var lostName = await world.Gateway.Database.ScalarAsync<string>(
            $"SELECT right(locator, 64) FROM alto.tier_object WHERE host_id = '{world.HostId}' AND full_path = '{files[1]}'");
        File.Delete(Directory.EnumerateFiles(Path.Combine(world.Work, "tier2"), "*", SearchOption.AllDirectories)
            .Single(file => file.EndsWith(lostName, StringComparison.Ordinal)));
        await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/targets/{world.TargetId}/reconcile", new { depth = "list" });
        await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.reconcile_run WHERE tenant_id = '{world.TenantId}' AND status = 'completed'") == 1, "the reconcile run ended", agent);
        // The fleet gauges (read from the database every 15 s) show the host online and its queue empty.
        var tenant = $"tenant=\"{world.TenantId}\"";
        bool Shows(string metrics, string name, string state, string value) => metrics.Split('\n').Any(line =>
            line.StartsWith(name + "{", StringComparison.Ordinal) && line.Contains(tenant, StringComparison.Ordinal) && line.Contains(state, StringComparison.Ordinal)
            && line.EndsWith(" " + value, StringComparison.Ordinal));
        await TieringWorld.WaitForAsync(async () => Shows(await _gateway.MetricsAsync(), "alto_hosts", "status=\"online\"", "1"), "the host online in alto_hosts", agent);
        // The agent's own gauges come with its heartbeats, and go with its session.
        await TieringWorld.WaitForAsync(async () => Shows(await _gateway.MetricsAsync(), "alto_agent_recalls_waiting", "", "0"), "a heartbeat's gauges", agent);
        var fleet = await _gateway.MetricsAsync();
        Assert.True(Shows(fleet, "alto_tier_jobs_open", "status=\"queued\"", "0") && Shows(fleet, "alto_scans_open", "status=\"ingesting\"", "0")
                    && Shows(fleet, "alto_lucidlink_batches_pending", "", "0"), fleet);
        await agent.StopAsync(TimeSpan.FromSeconds(30));

        var metrics = await _gateway.MetricsAsync();
        Assert.Contains("alto_reconcile_runs_total", metrics, StringComparison.Ordinal);
        // Our own names: the runtime's, Orleans's and the database client's are theirs to fix.
        var (_, output) = await ExternalTool.RunAsync("promtool", ["check", "metrics"], "run the suite with scripts/test.sh, or apt-get install prometheus", metrics);
        var ours = output.Split('\n').Where(line => line.StartsWith("alto_", StringComparison.Ordinal)).ToList();
        Assert.True(ours.Count == 0, string.Join('\n', ours));

        // Every series of ours says whose it is (operators alert and chart per tenant), except the cluster's own grain calls (counted and timed)
        // and the failure counters' zero from the start (no failure yet, so no tenant).
        var untenanted = metrics.Split('\n').Where(line => line.StartsWith("alto_", StringComparison.Ordinal) && !line.StartsWith("alto_grain_call", StringComparison.Ordinal)
                                                            && !line.Contains("tenant=\"", StringComparison.Ordinal) && !IsZeroFromTheStart(line)).ToList();
        Assert.True(untenanted.Count == 0, string.Join('\n', untenanted));
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("alto_tier_files_total{", StringComparison.Ordinal) && line.Contains($"tenant=\"{world.TenantId}\"", StringComparison.Ordinal)
                                                     && line.Contains($"host=\"{world.HostId}\"", StringComparison.Ordinal));

        // A histogram in seconds has buckets in seconds: a quantile over millisecond-sized buckets reads seconds as thousands.
        var seconds = SecondsHistogramBounds(metrics);
        Assert.Contains("alto_plan_duration_seconds", seconds.Keys);
        Assert.Contains("alto_recall_duration_seconds", seconds.Keys);
        Assert.Contains("alto_scan_ingest_duration_seconds", seconds.Keys);
        Assert.Contains("alto_grain_call_duration_seconds", seconds.Keys);
        // The session, the scan, the tiering, the recall and the reconciliation went out as live events for the consoles.
        foreach (var kind in new[] { "host.status", "host.metrics", "scan.completed", "job.progress", "tier.states", "recalls", "sanitizer.findings" })
        {
            Assert.True(metrics.Split('\n').Any(line => line.StartsWith("alto_live_events_published_total{", StringComparison.Ordinal)
                                                        && line.Contains($"kind=\"{kind}\"", StringComparison.Ordinal)), $"no {kind} live event was published");
        }
        Assert.DoesNotContain(metrics.Split('\n'), line => line.StartsWith("alto_live_events_dropped_total", StringComparison.Ordinal) && !IsZeroFromTheStart(line));
        // Failure counters read 0 before the first failure, so an alert on their increase sees the first one.
        foreach (var failures in new[] { "alto_api_unavailable_total", "alto_access_refused_total", "alto_stub_recalls_refused_total", "alto_tier_abandoned_total",
                                         "alto_agent_reports_refused_total", "alto_inventory_work_failed_total", "alto_trail_batches_failed_total", "alto_live_events_dropped_total",
                                         "alto_agent_messages_deferred_total" })
        {
            Assert.Contains(metrics.Split('\n'), line => line.StartsWith(failures, StringComparison.Ordinal) && IsZeroFromTheStart(line));
        }
        // The dashboards over tiering, recall, tenants, hosts and the cluster find every series they chart (LucidLink's: its own test),
        // the agent's gauges in the scrape taken while it ran.
        Dashboards.AssertExported(fleet + metrics, "alto-cluster.json", "alto-tenant.json", "alto-host.json", "alto-tiering-recall.json");
        Assert.All(seconds, histogram => Assert.True(histogram.Value.Min() <= 0.01 && histogram.Value.Max() <= 3600,
            $"{histogram.Key} has buckets {string.Join(", ", histogram.Value)}"));
    }

    /// <summary>A series with no tenant reading 0: a failure counter before its first failure.</summary>
    private static bool IsZeroFromTheStart(string line) =>
        !line.Contains("tenant=\"", StringComparison.Ordinal) && line.Split(" # ")[0].TrimEnd().EndsWith(" 0", StringComparison.Ordinal);

    /// <summary>The finite bucket bounds of each alto_*_seconds histogram on the page.</summary>
    private static Dictionary<string, List<double>> SecondsHistogramBounds(string metrics) =>
        metrics.Split('\n')
            .Where(line => line.StartsWith("alto_", StringComparison.Ordinal) && line.Contains("_seconds_bucket{", StringComparison.Ordinal) && !line.Contains("le=\"+Inf\"", StringComparison.Ordinal))
            .Select(line => (Name: line[..line.IndexOf("_bucket{", StringComparison.Ordinal)],
                Bound: double.Parse(line[(line.IndexOf("le=\"", StringComparison.Ordinal) + 4)..].Split('"')[0], System.Globalization.CultureInfo.InvariantCulture)))
            .GroupBy(bucket => bucket.Name)
            .ToDictionary(group => group.Key, group => group.Select(bucket => bucket.Bound).Distinct().ToList());
}
