using System.Globalization;
using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// A tier 2 that refuses every write, through the real gateway and agent, with two attempts a
/// second apart: each file is tried, tried again, and then given up. ABANDONED shows in the API,
/// the audit log and the metric the AltoFilesAbandoned alert reads, and every original stays
/// whole on tier 1.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class AbandonmentEndToEndTests : IAsyncLifetime
{
    private const int Attempts = 2;
    private TestDatabase _database = null!;
    private GatewayProcess _gateway = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync("abandonment");
        _gateway = await GatewayProcess.StartAsync(_database, "abandonment", new Dictionary<string, string>
        {
            ["Alto__Tiering__Retry__MaxAttempts"] = Attempts.ToString(CultureInfo.InvariantCulture),
            ["Alto__Tiering__Retry__Base"] = "00:00:01",
        }, TimeSpan.FromSeconds(90));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task FilesATierTwoNeverTakesAreAbandonedAfterTheirLastAttemptVisiblyAndWhole()
    {
        using var tier2 = ScratchFileSystem.TryCreate(out var whyNot, megabytes: 8) ?? throw new InvalidOperationException(whyNot);
        var readOnly = await StubFiles.ShellAsync($"mount -o remount,ro '{tier2.Root}'");
        Assert.True(readOnly.ExitCode == 0, readOnly.Output);
        await using var world = await TieringWorld.CreateAsync(_gateway, tier2: tier2.Root);
        var sums = new Dictionary<string, string>();
        for (var i = 0; i < 3; i++)
        {
            var path = Path.Combine(world.Volume.Root, $"never-{i}.bin");
            sums[path] = await TieringWorld.WriteOldFileAsync(path, 256);
        }
        var agent = world.StartAgent();

        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'ABANDONED'") == sums.Count, "every file abandoned", agent);

        var objects = (await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/tier-objects?hostId={world.HostId}&state=abandoned"))
            .GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal(sums.Keys.Order(), objects.Select(item => item.GetProperty("path").GetString()).Order());
        Assert.All(objects, item =>
        {
            Assert.Equal(Attempts, item.GetProperty("attempts").GetInt32());
            Assert.Contains("Read-only file system", item.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        });
        // Each file failed twice (two jobs) before it was given up: two failures, one abandonment each.
        Assert.Equal(sums.Count * Attempts, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.failed'"));
        Assert.Equal(sums.Count, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.abandoned' AND outcome = 'failure' AND details->>'to' = 'ABANDONED'"));
        Assert.Equal(Attempts, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{world.HostId}' AND status = 'failed'"));

        // The series the AltoFilesAbandoned alert reads (helm/alto/files/alerts.yaml), with this run's count.
        Assert.Equal(sums.Count, MetricLines.Sum(await _gateway.MetricsAsync(), "alto_tier_abandoned_total", $"tenant=\"{world.TenantId}\""));
        await TieringWorld.WaitForAsync(() => Task.FromResult(agent.Output.Contains("Read-only file system", StringComparison.Ordinal)),
            "the reason in the agent's log", agent);
        foreach (var (path, sum) in sums)
        {
            Assert.Null(LinuxStubs.Peek(path));
            Assert.Equal(sum, await TieringWorld.ReadByAnotherProgramAsync(path));
        }
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }
}
