using Alto.Agent.Enrollment;
using Alto.Agent.LucidLink;
using Alto.TestSupport;
using Npgsql;

namespace Alto.Agent.Tests.LucidLink;

/// <summary>
/// The whole LucidLink path: the host names its filespace, the real agent (alto-agent run) tails
/// the audit trail the filespace writes, and the gateway applies the updates: access times with
/// the source lucidlink_audit, and a planned file that was read leaves its job.
/// </summary>
public sealed class LucidLinkEndToEndTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private const long Day = 86_400;
    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task TheAgentTailsTheTrailAndTheInventoryAndPlansFollowIt()
    {
        var root = Directory.CreateTempSubdirectory("alto-lucid-fs-").FullName;
        var state = Directory.CreateTempSubdirectory("alto-lucid-agent-").FullName;
        try
        {
            // The filespace is on the machine's root file system: the agent refuses to arm recall on
            // open there (it would stand between every program and every file), so nothing is tiered.
            var (admin, tenant, hostId) = await EnrolledHostAsync("lucid", "lucid-node", root, state, tierAtOnce: true);
            using var signedIn = admin;
            var target = await admin.PostAsync($"/api/v1/tenants/{tenant}/targets", new { name = "nas", kind = "path", settings = new { path = $"/mnt/tier2/{tenant:N}" } });
            await admin.PostAsync($"/api/v1/tenants/{tenant}/rules", new { name = "cold", targetId = target.GetProperty("id").GetGuid(), criteria = new { accessedOlderThanDays = 30 } });
            await AddFilesAsync(tenant, hostId, $"{root}/docs/report.pdf", $"{root}/video/clip.mov");
            await admin.PostAsync($"/api/v1/tenants/{tenant}/hosts/{hostId}/plan?dryRun=false", new { });
            Assert.Equal(2, await PlannedAsync(hostId));
            // A transfer window that closed an hour ago keeps the jobs from going out: the plans stay to look at.
            var now = DateTimeOffset.UtcNow;
            var closed = new { days = "daily", start = now.AddHours(-2).ToString("HH:00", System.Globalization.CultureInfo.InvariantCulture),
                end = now.AddHours(-1).ToString("HH:00", System.Globalization.CultureInfo.InvariantCulture) };
            await admin.PatchAsync($"/api/v1/tenants/{tenant}/hosts/{hostId}", new
            {
                lucidLink = new { filespaceRoot = root, pollSeconds = 1 },
                transferWindows = new[] { closed },
                timeZone = "UTC",
            });

            var month = Path.Combine(root, ".lucid_audit", "node-3", "2026", "11");
            Directory.CreateDirectory(month);
            var readAt = DateTimeOffset.UtcNow.AddMinutes(-2);
            await File.WriteAllTextAsync(Path.Combine(month, "1764300000.log.active"),
                LucidTrailTailerTests.Line("FileRead", "docs/report.pdf", readAt.ToUnixTimeMilliseconds() * 1000) + "\ngarbage line\n");

            var agentDll = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
            await using var agent = ProgramRun.Start(agentDll, new Dictionary<string, string>(), "run", "--state-dir", state);
            await WaitAsync(() => SourceAsync(hostId, $"{root}/docs/report.pdf"), "lucidlink_audit", agent);
            Assert.Equal(readAt.ToUnixTimeSeconds(), await AtimeAsync(hostId, $"{root}/docs/report.pdf"));
            // The host re-plans right after the access times are committed: the read file leaves its job.
            await WaitAsync(async () => (await PlannedAsync(hostId)).ToString(System.Globalization.CultureInfo.InvariantCulture), "1", agent);

            // The file rotates while more events arrive: they come through too, once.
            await File.AppendAllTextAsync(Path.Combine(month, "1764300000.log.active"),
                LucidTrailTailerTests.Line("FileWritten", "video/clip.mov", readAt.ToUnixTimeMilliseconds() * 1000) + "\n");
            File.Move(Path.Combine(month, "1764300000.log.active"), Path.Combine(month, "1764300000.log"));
            await WaitAsync(async () => (await MtimeAsync(hostId, $"{root}/video/clip.mov")).ToString(System.Globalization.CultureInfo.InvariantCulture),
                readAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), agent);
            Assert.Equal(2, await _gateway.Database.CountAsync(
                $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{tenant}' AND action = 'inventory.audit_updates_applied'"));
            await agent.StopAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            Directory.Delete(root, true);
            Directory.Delete(state, true);
        }
    }

    [Fact]
    public async Task TheDocumentedTrailAppliesEveryEventExactlyCountsGarbageAndLosesNothingAcrossARestart()
    {
        var root = Directory.CreateTempSubdirectory("alto-lucid-fs-").FullName;
        var state = Directory.CreateTempSubdirectory("alto-lucid-agent-").FullName;
        try
        {
            var (admin, tenant, hostId) = await EnrolledHostAsync("trail", "lucid-trail", root, state, tierAtOnce: false);
            using var signedIn = admin;
            await AddFilesAsync(tenant, hostId, $"{root}/Projects/video/final-cut.mov", $"{root}/Projects/video/rough.mov", $"{root}/Projects/old.mov",
                $"{root}/Projects/a.mov", $"{root}/Projects/sub/b.mov", $"{root}/Projects/sub/deeper/c.mov");
            await admin.PatchAsync($"/api/v1/tenants/{tenant}/hosts/{hostId}", new { lucidLink = new { filespaceRoot = root, pollSeconds = 1 } });

            // The trail as LucidLink writes it: rooted paths, a rotated file, garbage, a duplicated line, a half-written last line.
            var month = Path.Combine(root, ".lucid_audit", "node-9", "2026", "11");
            Directory.CreateDirectory(month);
            var now = DateTimeOffset.UtcNow.AddMinutes(-10);
            long Micros(int minutes) => now.AddMinutes(minutes).ToUnixTimeMilliseconds() * 1000;
            var read = LucidTrailTailerTests.Line("FileRead", "Projects/video/final-cut.mov", Micros(1));
            await File.WriteAllTextAsync(Path.Combine(month, "1764300000.log"), string.Join("\n",
                LucidTrailTailerTests.Line("FileCreate", "Projects/new.mov", Micros(0)),
                read,
                read,
                "{\"timestamp\": \"not a number\", \"operation\": {\"action\": \"FileRead\", \"entryPath\": \"/Projects/a.mov\"}}",
                LucidTrailTailerTests.Line("FileDelete", "Projects/old.mov", Micros(2))) + "\n");
            var pending = LucidTrailTailerTests.Line("FileRead", "Projects/video/rough.mov", Micros(5));
            await File.WriteAllTextAsync(Path.Combine(month, "1764300900.log.active"), string.Join("\n",
                LucidTrailTailerTests.Line("Move", "Projects/a.mov", Micros(3), targetPath: "Archive/a.mov"),
                LucidTrailTailerTests.Line("Move", "Projects/sub", Micros(4), targetPath: "Archive/sub")) + "\n" + pending[..50]);

            var agentDll = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
            await using (var agent = ProgramRun.Start(agentDll, new Dictionary<string, string>(), "run", "--state-dir", state))
            {
                await WaitAsync(async () => (await AtimeAsync(hostId, $"{root}/Projects/video/final-cut.mov")).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    (Micros(1) / 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture), agent);
                await WaitAsync(() => PathsAsync(hostId), string.Join("|", $"{root}/Archive/a.mov", $"{root}/Archive/sub/b.mov", $"{root}/Archive/sub/deeper/c.mov",
                    $"{root}/Projects/video/final-cut.mov", $"{root}/Projects/video/rough.mov"), agent);
                Assert.Equal(1, await _gateway.Database.CountAsync(
                    $"SELECT count(*) FROM alto.file_current WHERE host_id = '{hostId}' AND full_path = '{root}/Projects/old.mov' AND deleted_utc IS NOT NULL"));

                // The garbage line and the duplicate are counted and reported: host API and /metrics.
                var trail = (await admin.WaitForHostAsync(tenant, hostId, host =>
                        host.TryGetProperty("latestMetrics", out var metrics) && metrics.ValueKind == System.Text.Json.JsonValueKind.Object
                        && metrics.TryGetProperty("lucidLinkTrail", out var lucid) && lucid.ValueKind == System.Text.Json.JsonValueKind.Object
                        && lucid.GetProperty("eventsApplied").GetInt64() == 4, Patience))
                    .GetProperty("latestMetrics").GetProperty("lucidLinkTrail");
                Assert.Equal((1L, 1L, 1), (trail.GetProperty("linesMalformed").GetInt64(), trail.GetProperty("linesDuplicate").GetInt64(), trail.GetProperty("linesQuarantined").GetInt32()));
                Assert.True(trail.GetProperty("lagSeconds").GetDouble() > 0);
                var metrics = await _gateway.MetricsAsync();
                var malformed = metrics.Split('\n').Single(line => line.StartsWith("alto_lucidlink_lines_malformed_total{", StringComparison.Ordinal)
                    && line.Contains(hostId.ToString(), StringComparison.Ordinal));
                Assert.EndsWith(" 1", malformed.Split(" # ")[0].TrimEnd(), StringComparison.Ordinal);
                Assert.Contains(metrics.Split('\n'), line => line.StartsWith("alto_lucidlink_lag_seconds{", StringComparison.Ordinal) && line.Contains(hostId.ToString(), StringComparison.Ordinal));
                // The fleet gauges are read from the database every 15 s: the dashboard is checked once they have been.
                for (var deadline = DateTime.UtcNow.AddSeconds(40); !metrics.Contains("alto_lucidlink_batches_pending{", StringComparison.Ordinal) && DateTime.UtcNow < deadline;)
                {
                    await Task.Delay(500);
                    metrics = await _gateway.MetricsAsync();
                }
                Dashboards.AssertExported(metrics, "alto-lucidlink.json");
                await agent.StopAsync(TimeSpan.FromSeconds(20));
            }

            // While the agent is down the last line is finished and the file rotates; a restart loses nothing and repeats nothing.
            await File.AppendAllTextAsync(Path.Combine(month, "1764300900.log.active"), pending[50..] + "\n");
            File.Move(Path.Combine(month, "1764300900.log.active"), Path.Combine(month, "1764300900.log"));
            await using (var agent = ProgramRun.Start(agentDll, new Dictionary<string, string>(), "run", "--state-dir", state))
            {
                await WaitAsync(async () => (await AtimeAsync(hostId, $"{root}/Projects/video/rough.mov")).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    (Micros(5) / 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture), agent);
                await agent.StopAsync(TimeSpan.FromSeconds(20));
            }
            // Two reads (the duplicate dropped), the delete and both moves: each sent once.
            Assert.Equal(5, await _gateway.Database.CountAsync(
                $"SELECT coalesce(sum(update_count), 0) FROM alto.audit_update_batch WHERE host_id = '{hostId}'"));
            Assert.Single(new LucidQuarantine(Directory.GetFiles(state, "lucid-offsets-*.json.quarantine.jsonl").Single()).Entries);
        }
        finally
        {
            Directory.Delete(root, true);
            Directory.Delete(state, true);
        }
    }

    /// <summary>A new tenant with one host whose volume is <paramref name="root"/>, enrolled with its credentials in <paramref name="state"/>.</summary>
    private async Task<(AdminApi Admin, Guid Tenant, Guid HostId)> EnrolledHostAsync(string tenantPrefix, string hostName, string root, string state, bool tierAtOnce)
    {
        var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenant = await admin.CreateTenantAsync($"{tenantPrefix}-{Guid.NewGuid():N}"[..24], tierAtOnce);
        var (hostId, token) = await admin.RegisterHostAsync(tenant, hostName, root);
        using var http = new HttpClient();
        var credentials = await new EnrollmentClient(http).EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl, token, CancellationToken.None);
        await credentials.SaveAsync(state, CancellationToken.None);
        return (admin, tenant, hostId);
    }

    private async Task<string?> PathsAsync(Guid hostId) => await _gateway.Database.ScalarAsync<string?>(
        $"SELECT string_agg(full_path, '|' ORDER BY full_path) FROM alto.file_current WHERE host_id = '{hostId}' AND deleted_utc IS NULL");

    private static async Task WaitAsync(Func<Task<string?>> value, string expected, ProgramRun agent)
    {
        var deadline = DateTime.UtcNow + Patience;
        string? last;
        while ((last = await value()) != expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"still {last}, not {expected}; agent output:\n{agent.Output}");
            await Task.Delay(200);
        }
    }

    private async Task AddFilesAsync(Guid tenant, Guid hostId, params string[] paths)
    {
        await using var insert = _gateway.Database.DataSource.CreateCommand("""
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT $1, $2, 0, regexp_replace(p, '^.*/', ''), p, 5000, $3, $3, $3, '', 0, 0, now() FROM unnest($4::text[]) AS p
            """);
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenant });
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 90 * Day });
        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = paths });
        await insert.ExecuteNonQueryAsync();
    }

    private Task<long> PlannedAsync(Guid hostId) =>
        _gateway.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{hostId}' AND state = 'PLANNED'");

    private Task<string?> SourceAsync(Guid hostId, string path) =>
        _gateway.Database.ScalarAsync<string?>($"SELECT last_accessed_source FROM alto.file_current WHERE host_id = '{hostId}' AND full_path = '{path}'");

    private Task<long> AtimeAsync(Guid hostId, string path) =>
        _gateway.Database.ScalarAsync<long>($"SELECT atime_unix FROM alto.file_current WHERE host_id = '{hostId}' AND full_path = '{path}'");

    private Task<long> MtimeAsync(Guid hostId, string path) =>
        _gateway.Database.ScalarAsync<long>($"SELECT mtime_unix FROM alto.file_current WHERE host_id = '{hostId}' AND full_path = '{path}'");
}
