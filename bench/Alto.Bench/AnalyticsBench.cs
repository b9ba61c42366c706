using System.Diagnostics;
using System.Net.Http.Headers;

namespace Alto.Bench;

/// <summary>
/// bench/run.sh analytics [--files N]: the tree's scan ingested through a real gateway, then each
/// analytics endpoint and search page asked again and again over HTTP (p50 and p95); baseline:
/// the same aggregate as a plain GROUP BY over alto.file_current, in the same run.
/// </summary>
public static class AnalyticsBench
{
    private const int Requests = 40;
    private const int BaselineRuns = 5;

    public static async Task<Dictionary<string, object>> RunAsync(string work, string tree, int files)
    {
        var chunkFiles = await Program.ScanToChunksAsync(work, tree, "analytics-chunks");
        await using var bench = await BenchGateway.StartAsync("bench_analytics", tree);
        var (database, gateway, admin, tenant, http, agent) = (bench.Database, bench.Gateway, bench.Admin, bench.TenantId, bench.Http, bench.Agent);
        var ingest = await Program.UploadAndWaitAsync(http, agent, database, chunkFiles, tree);
        // Savings read the per-target day series: give it the longest history kept (800 days, three targets).
        await database.ExecuteAsync($"""
            INSERT INTO alto.daily_tiering (tenant_id, host_id, target_id, day, tiered_files, tiered_bytes, recalled_files, recalled_bytes, stubbed_bytes)
            SELECT '{tenant}', '{agent.HostId}', t, (now() AT TIME ZONE 'UTC')::date - d, 1000, 1000000000, 10, 10000000, (800 - d) * 1000000000::bigint
            FROM generate_series(0, 799) d, (VALUES (gen_random_uuid()), (gen_random_uuid()), (gen_random_uuid())) AS targets(t)
            """);
        await database.ExecuteAsync("ANALYZE");

        using var client = new HttpClient { BaseAddress = gateway.HttpUrl };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", admin.AccessToken);
        var api = $"/api/v1/tenants/{tenant}";
        var endpoints = new Dictionary<string, string>
        {
            ["capacity by access age"] = $"{api}/analytics/capacity?by=access-age",
            ["capacity by modify age"] = $"{api}/analytics/capacity?by=modify-age",
            ["capacity by extension"] = $"{api}/analytics/capacity?by=extension",
            ["capacity by family"] = $"{api}/analytics/capacity?by=family",
            ["capacity by owner"] = $"{api}/analytics/capacity?by=owner",
            ["capacity by size"] = $"{api}/analytics/capacity?by=size",
            ["directories (rbh-du)"] = $"{api}/analytics/directories?hostId={agent.HostId}&path={Uri.EscapeDataString(tree)}",
            ["daily series, 400 days"] = $"{api}/analytics/daily",
            ["targets"] = $"{api}/analytics/targets",
            ["savings, 400 days"] = $"{api}/analytics/savings",
            ["search, first page"] = $"{api}/inventory/search?limit=100",
            ["search, page by size and age"] = $"{api}/inventory/search?minSize=65536&accessedOverDays=30&limit=100",
        };
        var figures = new Dictionary<string, object>();
        foreach (var (name, path) in endpoints)
        {
            figures[name] = await TimeAsync(async () => (await client.GetAsync(new Uri(path, UriKind.Relative))).EnsureSuccessStatusCode().Dispose(), Requests);
        }
        // The same report as a plain aggregate over the inventory.
        var baseline = await TimeAsync(async () => await database.ExecuteAsync($"""
            SELECT CASE WHEN age <= 30 THEN 1 WHEN age <= 90 THEN 2 WHEN age <= 180 THEN 3 WHEN age <= 365 THEN 4 WHEN age <= 730 THEN 5 ELSE 6 END,
                   count(*), sum(size_bytes), count(*) FILTER (WHERE is_stub), sum(size_bytes) FILTER (WHERE is_stub)
            FROM (SELECT size_bytes, is_stub, (extract(epoch FROM now())::bigint - atime_unix) / 86400 AS age
                  FROM alto.file_current WHERE tenant_id = '{tenant}' AND deleted_utc IS NULL) f
            GROUP BY 1
            """), BaselineRuns);
        var worstAnalytics = figures.Where(f => !f.Key.StartsWith("search", StringComparison.Ordinal)).Max(f => ((Dictionary<string, double>)f.Value)["p95_ms"]);
        var worstSearch = figures.Where(f => f.Key.StartsWith("search", StringComparison.Ordinal)).Max(f => ((Dictionary<string, double>)f.Value)["p95_ms"]);
        return new Dictionary<string, object>
        {
            ["bench"] = "analytics",
            ["n"] = files,
            ["ingest_s"] = Math.Round(ingest.Ingested.TotalSeconds, 1),
            ["endpoints"] = figures,
            ["baseline"] = "the access-age report as a plain GROUP BY over alto.file_current",
            ["baseline_ms"] = baseline,
            ["worst_analytics_p95_ms"] = worstAnalytics,
            ["worst_search_p95_ms"] = worstSearch,
            ["goal"] = "p95 <= 200 ms for every analytics endpoint, <= 300 ms for search pages",
        };
    }

    /// <summary>p50 and p95 in milliseconds of <paramref name="runs"/> calls, after one to warm up.</summary>
    private static async Task<Dictionary<string, double>> TimeAsync(Func<Task> call, int runs)
    {
        await call();
        var times = new List<double>(runs);
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            await call();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return new Dictionary<string, double>
        {
            ["p50_ms"] = Math.Round(times[runs / 2], 1),
            ["p95_ms"] = Math.Round(times[Math.Min(runs - 1, (int)Math.Ceiling(runs * 0.95) - 1)], 1),
        };
    }
}
