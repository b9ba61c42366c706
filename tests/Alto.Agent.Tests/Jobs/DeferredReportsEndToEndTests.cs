using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Alto.TestSupport;
using Npgsql;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// A cluster too busy to take an agent's report in time neither loses the report nor ends the
/// session, with the real gateway and agent: the gateway answers "send it again", the agent sends
/// it again on the same session, and it is applied once when the cluster can take it.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class DeferredReportsEndToEndTests
{
    [Fact]
    public async Task AJobReportTheClusterCannotTakeInTimeIsSentAgainOnTheSameSessionAndAppliedOnce()
    {
        await using var database = await TestDatabase.CreateAsync("deferred_reports");
        await using var gateway = await GatewayProcess.StartAsync(database, "deferred-reports", new Dictionary<string, string>
        {
            // A grain call gives up after 3 s; heartbeats stuck behind the blocked report must not take the host offline meanwhile.
            ["Alto__Cluster__CallTimeoutSeconds"] = "3",
            ["Alto__Agents__HeartbeatTimeoutSeconds"] = "120",
        }, TimeSpan.FromSeconds(90));
        // The agent reaches the gateway through a link that counts its connections: one session, start to end.
        await using var link = TcpProxy.To(gateway.GrpcUrl.Port);
        await using var world = await TieringWorld.CreateAsync(gateway, grpc: new Uri($"http://127.0.0.1:{link.Port}"));
        // Jobs wait for approval, so the report can be blocked before the agent has anything to report.
        await world.Admin.PatchAsync($"/api/v1/tenants/{world.TenantId}", new { planApproval = "manual" });
        var sums = new Dictionary<string, string>();
        for (var i = 0; i < 3; i++)
        {
            var path = Path.Combine(world.Volume.Root, $"busy-{i}.bin");
            sums[path] = await TieringWorld.WriteOldFileAsync(path, 64);
        }
        var agent = world.StartAgent();
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => (await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/approvals")).GetProperty("jobs").GetInt32() == 1,
            "a job waiting for approval", agent);

        // Another transaction holds the host's inventory rows that a stubbed report marks: the report's grain call waits past its timeout.
        await using (var blocker = new NpgsqlConnection(database.ConnectionString))
        {
            await blocker.OpenAsync();
            await using var hold = await blocker.BeginTransactionAsync();
            await using (var lockRows = new NpgsqlCommand($"SELECT count(*) FROM (SELECT 1 FROM alto.file_current WHERE host_id = '{world.HostId}' FOR NO KEY UPDATE) held", blocker, hold))
            {
                Assert.Equal(3L, await lockRows.ExecuteScalarAsync());
            }
            await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/approvals", new { all = true });
            await TieringWorld.WaitForAsync(() => Task.FromResult(agent.Output.Contains("could not take report", StringComparison.Ordinal)
                                                                  && agent.Output.Contains("it goes again in", StringComparison.Ordinal)),
                "the agent told to send its report again", agent);
            Assert.Equal(0, await world.CountAsync("state = 'STUBBED'"));
            await hold.RollbackAsync();
        }

        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") == sums.Count, "every file stubbed", agent);
        Assert.Equal(1, link.Accepted);
        Assert.DoesNotContain("Gateway session lost", agent.Output, StringComparison.Ordinal);
        Assert.Contains("could not be taken now, the session goes on", gateway.Run.Output, StringComparison.Ordinal);
        // The agent learns the cause, not the cluster's internals (the gateway's log has Orleans' own words).
        Assert.Contains("the cluster did not take it within its call timeout", agent.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Response did not arrive", agent.Output, StringComparison.Ordinal);
        Assert.Contains((await gateway.MetricsAsync()).Split('\n'), line =>
            line.StartsWith("alto_agent_messages_deferred_total{", StringComparison.Ordinal) && line.Contains("kind=\"job_result\"", StringComparison.Ordinal)
            && !line.EndsWith(" 0", StringComparison.Ordinal));
        // Applied once, however often it was sent: one audit entry per file.
        Assert.Equal(sums.Count, await database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.stubbed'"));
        foreach (var (path, sum) in sums)
        {
            Assert.NotNull(LinuxStubs.Peek(path));
            Assert.Equal(sum, await TieringWorld.ReadByAnotherProgramAsync(path));
        }
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }
}
