using Alto.Agent.Enrollment;
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
            using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
            var tenant = await admin.CreateTenantAsync($"lucid-{Guid.NewGuid():N}"[..24], tierAtOnce: true);
            var target = await admin.PostAsync($"/api/v1/tenants/{tenant}/targets", new { name = "nas", kind = "path", settings = new { path = $"/mnt/tier2/{tenant:N}" } });
            await admin.PostAsync($"/api/v1/tenants/{tenant}/rules", new { name = "cold", targetId = target.GetProperty("id").GetGuid(), criteria = new { accessedOlderThanDays = 30 } });
            // The filespace is on the machine's root file system: the agent refuses to arm recall on
            // open there (it would stand between every program and every file), so nothing is tiered.
            var (hostId, token) = await admin.RegisterHostAsync(tenant, "lucid-node", root);
            using var http = new HttpClient();
            var credentials = await new EnrollmentClient(http).EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl, token, CancellationToken.None);
            await credentials.SaveAsync(state, CancellationToken.None);
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
                LucidAuditTailerTests.Line("FileRead", "docs/report.pdf", readAt.ToUnixTimeMilliseconds() * 1000) + "\ngarbage line\n");

            var agentDll = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
            await using var agent = ProgramRun.Start(agentDll, new Dictionary<string, string>(), "run", "--state-dir", state);
            await WaitAsync(() => SourceAsync(hostId, $"{root}/docs/report.pdf"), "lucidlink_audit", agent);
            Assert.Equal(readAt.ToUnixTimeSeconds(), await AtimeAsync(hostId, $"{root}/docs/report.pdf"));
            // The host re-plans right after the access times are committed: the read file leaves its job.
            await WaitAsync(async () => (await PlannedAsync(hostId)).ToString(System.Globalization.CultureInfo.InvariantCulture), "1", agent);

            // The file rotates while more events arrive: they come through too, once.
            await File.AppendAllTextAsync(Path.Combine(month, "1764300000.log.active"),
                LucidAuditTailerTests.Line("FileWritten", "video/clip.mov", readAt.ToUnixTimeMilliseconds() * 1000) + "\n");
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
