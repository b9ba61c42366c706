using System.Net.Http.Json;
using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Jobs;

/// <summary>A gateway whose jobs wait two seconds, not a minute, before going again after tier 2 could not be reached.</summary>
public sealed class ShortRetryGateway : IAsyncLifetime
{
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync() => Gateway = await GatewayProcess.StartAsync(
        "agent_job_control", new Dictionary<string, string> { ["Alto__Dispatch__UnavailableRetry"] = "00:00:02" }, TimeSpan.FromSeconds(90));

    public async Task DisposeAsync()
    {
        if (Gateway is { } gateway)
        {
            await gateway.DisposeAsync();
        }
    }
}

/// <summary>
/// Controlling a job with the real gateway and agent: a job sent again after tier 2 was
/// unreachable runs again in the same agent and tiers its files; a running job reports its files
/// as they are done; a job an admin cancels while the agent runs it finishes the files on their
/// way, starts no other, and ends cancelled with every file either a verified stub or its
/// original bytes.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class JobControlEndToEndTests(ShortRetryGateway running) : IClassFixture<ShortRetryGateway>
{
    private readonly GatewayProcess _gateway = running.Gateway;

    /// <summary>The share is <see cref="PausableShare"/>, the stand-in for an NFS or SMB server that stops answering.</summary>
    [Fact]
    public async Task AJobSentAgainAfterTierTwoWasUnreachableRunsAgainInTheSameAgentAndTiersItsFiles()
    {
        await using var share = await PausableShare.StartAsync();
        await using var world = await TieringWorld.CreateAsync(_gateway, tier2: share.Root);
        var sums = new Dictionary<string, string>();
        for (var i = 0; i < 3; i++)
        {
            var path = Path.Combine(world.Volume.Root, $"later-{i}.bin");
            sums[path] = await TieringWorld.WriteOldFileAsync(path, 256);
        }
        var agent = world.StartAgent("--folder-stall-seconds", "2");
        share.Pause();
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.unavailable'") > 0, "tier 2 reported unavailable", agent);

        share.Resume();

        // The same agent process runs the job's next sending (a new attempt, not a repeat of the last) and tiers every file.
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") == 3, "the files stubbed once tier 2 was back", agent);
        Assert.Equal(1, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{world.HostId}' AND status = 'completed' AND attempts >= 2"));
        foreach (var (path, sum) in sums)
        {
            Assert.NotNull(LinuxStubs.Peek(path));
            Assert.Equal(sum, await TieringWorld.ReadByAnotherProgramAsync(path));
        }
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ARunningJobCancelledByAnAdminFinishesTheFilesOnTheirWayStartsNoOtherAndEndsCancelled()
    {
        const int Files = 40;
        await using var world = await TieringWorld.CreateAsync(_gateway);
        var sums = new Dictionary<string, string>();
        for (var i = 0; i < Files; i++)
        {
            var path = Path.Combine(world.Volume.Root, $"slow-{i:D2}.bin");
            sums[path] = await TieringWorld.WriteOldFileAsync(path, 256);
        }
        // 256 KiB a second: the job's 10 MiB would take some forty seconds.
        await world.Admin.PatchAsync($"/api/v1/tenants/{world.TenantId}/hosts/{world.HostId}", new { bandwidthLimitBytesPerSecond = 256 * 1024 });
        var agent = world.StartAgent();
        await world.ScanAsync();
        // The agent reports files as they are done, not only when the job ends: the first stubs show while it runs.
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") > 0, "a first file reported stubbed", agent);
        var job = (await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/jobs?hostId={world.HostId}")).GetProperty("items").EnumerateArray().Single();
        var jobId = job.GetProperty("id").GetGuid();
        Assert.Equal((Files, "dispatched"), (job.GetProperty("fileCount").GetInt32(), job.GetProperty("status").GetString()));

        var cancelled = await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/jobs/{jobId}/cancel", new { holdDays = 5, reason = "the wrong share" });

        Assert.Equal("cancelling", cancelled.GetProperty("status").GetString());
        await TieringWorld.WaitForAsync(async () => (await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/jobs/{jobId}"))
            .GetProperty("status").GetString() == "cancelled", "the job ended cancelled", agent);
        var ended = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/jobs/{jobId}");
        Assert.Equal("cancelled by user:admin: the wrong share", ended.GetProperty("lastError").GetString());
        Assert.Equal("cancelled by user:admin: the wrong share", ended.GetProperty("cancelReason").GetString());
        var stubbed = await world.CountAsync("state = 'STUBBED'");
        var held = await world.CountAsync("state = 'SKIPPED' AND next_attempt_utc > now() + interval '4 days' AND last_error LIKE 'cancelled by user:admin: the wrong share%'");
        Assert.Equal(Files, stubbed + held);
        Assert.InRange(held, Files / 2, Files - 1);
        Assert.Contains($"The cluster cancelled job {jobId} (running here: True)", agent.Output, StringComparison.Ordinal);
        // Every file is a stub of its object or its own bytes untouched, and reads as itself either way.
        foreach (var (path, sum) in sums)
        {
            var state = await _gateway.Database.ScalarAsync<string>(
                $"SELECT state FROM alto.tier_object WHERE host_id = '{world.HostId}' AND full_path = '{path}'");
            Assert.Equal(state == "STUBBED", LinuxStubs.Peek(path) is not null);
            Assert.Equal(sum, await TieringWorld.ReadByAnotherProgramAsync(path));
        }
        Assert.Equal(1, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.job_cancel_requested' AND actor = 'user:admin' AND object_id = '{jobId}'"));
        Assert.Equal(1, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.job_cancelled' AND actor = 'agent:{world.HostId}' AND object_id = '{jobId}'"));
        Assert.Equal(held, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.cancelled' AND host_id = '{world.HostId}'"));
        // Over, it is not cancelled again.
        using var again = await world.Admin.Http.PostAsJsonAsync($"/api/v1/tenants/{world.TenantId}/jobs/{jobId}/cancel", new { });
        Assert.Equal(System.Net.HttpStatusCode.Conflict, again.StatusCode);
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }
}
