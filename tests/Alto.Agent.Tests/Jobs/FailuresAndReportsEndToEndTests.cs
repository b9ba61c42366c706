using System.Diagnostics;
using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.TestSupport;
using Alto.Tiering;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// No failure is silent and no report is lost, with the real gateway and agent: a tier 2 that is
/// full or read-only fails the job with its reason in the API, the audit log, the metrics and the
/// agent's log, and keeps every original; a recall of thousands of stubs whose session is cut in
/// the middle ends with every tier object in its true state.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class FailuresAndReportsEndToEndTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private readonly GatewayProcess _gateway = running.Gateway;

    [Theory]
    [InlineData("full", "No space left on device")]
    [InlineData("read-only", "Read-only file system")]
    public async Task ATierTwoThatTakesNoWritesFailsTheJobVisiblyAndKeepsTheOriginals(string kind, string reason)
    {
        using var tier2 = ScratchFileSystem.TryCreate(out var whyNot, megabytes: 8) ?? throw new InvalidOperationException(whyNot);
        var broken = kind == "full"
            ? await StubFiles.ShellAsync($"dd if=/dev/zero of='{tier2.Root}/filler' bs=1M status=none; sync; true")
            : await StubFiles.ShellAsync($"mount -o remount,ro '{tier2.Root}'");
        Assert.True(broken.ExitCode == 0, broken.Output);
        await using var world = await TieringWorld.CreateAsync(_gateway, tier2: tier2.Root);
        var sums = new Dictionary<string, string>();
        for (var i = 0; i < 3; i++)
        {
            var path = Path.Combine(world.Volume.Root, $"{kind}-{i}.bin");
            sums[path] = await TieringWorld.WriteOldFileAsync(path, 512);
        }
        var agent = world.StartAgent();

        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'FAILED'") == sums.Count, "every file failed", agent);

        var jobs = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/jobs?hostId={world.HostId}&status=failed");
        var job = Assert.Single(jobs.GetProperty("items").EnumerateArray());
        Assert.Contains($"3 of 3 files failed: writing to tier 2 failed: {reason}", job.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        var objects = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/tier-objects?hostId={world.HostId}&state=failed");
        Assert.All(objects.GetProperty("items").EnumerateArray(),
            item => Assert.Contains(reason, item.GetProperty("lastError").GetString(), StringComparison.Ordinal));
        Assert.Equal(1, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.job_failed' AND outcome = 'failure' AND details->>'reason' LIKE '%{reason}%'"));
        Assert.Equal(3, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.failed' AND details->>'reason' LIKE '%{reason}%'"));
        var metrics = await _gateway.MetricsAsync();
        Assert.Contains("alto_tier_jobs_ended", metrics, StringComparison.Ordinal);
        Assert.Contains("status=\"failed\"", metrics, StringComparison.Ordinal);
        await TieringWorld.WaitForAsync(() => Task.FromResult(agent.Output.Contains($"writing to tier 2 failed: {reason}", StringComparison.Ordinal)),
            "the reason in the agent's log", agent);
        Assert.True(agent.Output.Split('\n').Any(line => line.StartsWith("warn", StringComparison.Ordinal)), agent.Output);
        foreach (var (path, sum) in sums)
        {
            Assert.Null(LinuxStubs.Peek(path));
            Assert.Equal(sum, await TieringWorld.ReadByAnotherProgramAsync(path));
        }
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>The share is <see cref="PausableShare"/>, the stand-in for an NFS or SMB server that stops answering.</summary>
    [Fact]
    public async Task AShareWhoseServerStopsAnsweringEndsTheJobUnavailableVisiblyAndTheAgentTakesItsNextCommand()
    {
        await using var share = await PausableShare.StartAsync();
        await using var world = await TieringWorld.CreateAsync(_gateway, tier2: share.Root);
        var sums = new Dictionary<string, string>();
        for (var i = 0; i < 3; i++)
        {
            var path = Path.Combine(world.Volume.Root, $"held-{i}.bin");
            sums[path] = await TieringWorld.WriteOldFileAsync(path, 512);
        }
        var agent = world.StartAgent("--folder-stall-seconds", "2");
        share.Pause();

        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.unavailable' AND outcome = 'failure'") > 0,
            "tier 2 reported unavailable", agent);

        var jobs = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/jobs?hostId={world.HostId}");
        var job = Assert.Single(jobs.GetProperty("items").EnumerateArray());
        Assert.Equal("tier 2 was unreachable; the job is retried", job.GetProperty("lastError").GetString());
        Assert.Contains("outcome=\"unavailable\"", await _gateway.MetricsAsync(), StringComparison.Ordinal);
        await TieringWorld.WaitForAsync(() => Task.FromResult(agent.Output.Contains(
            $"tier 2's folder {share.Root} made no progress for 2 s while writing an object", StringComparison.Ordinal)), "the reason in the agent's log", agent);
        // Each attempt is one line with its reason, not a stack trace.
        Assert.Contains("Tier 2 unreachable (attempt 1 of 3, the next in ", agent.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(TierStoreUnavailableException), agent.Output, StringComparison.Ordinal);

        // The agent is not stuck behind the share: the next command from the cluster, a scan, runs while it is still away.
        await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/hosts/{world.HostId}/scan", new { paths = new[] { world.Volume.Root } });
        await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.scan WHERE host_id = '{world.HostId}' AND status = 'completed'") == 2, "the requested scan completed", agent);
        foreach (var (path, sum) in sums)
        {
            Assert.Null(LinuxStubs.Peek(path));
            Assert.Equal(sum, await TieringWorld.ReadByAnotherProgramAsync(path));
        }
        share.Resume();
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ARecallOfThousandsOfStubsWhoseSessionIsCutMidwayEndsWithEveryTierObjectInItsTrueState()
    {
        const int Files = 5000;
        // The agent reaches the gateway's gRPC port through a link the test cuts, as a failing network would.
        await using var link = TcpProxy.To(_gateway.GrpcUrl.Port);
        await using var world = await TieringWorld.CreateAsync(_gateway, grpc: new Uri($"http://127.0.0.1:{link.Port}"), volumeMegabytes: 512);
        var written = await StubFiles.ShellAsync(
            $"cd '{world.Volume.Root}' && mkdir many && for i in $(seq 1 {Files}); do printf 'file %05d of the many\\n' $i > many/f$i.txt; done && touch -m -d 2020-01-01 many/*");
        Assert.True(written.ExitCode == 0, written.Output);
        var agent = world.StartAgent();
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") == Files, $"{Files} stubs", agent);

        var clock = Stopwatch.StartNew();
        await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/hosts/{world.HostId}/recall", new { directory = Path.Combine(world.Volume.Root, "many") });
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'RECALLED'") >= Files / 5, "a fifth of the recalls recorded", agent);
        var sessionsBefore = link.Accepted;
        link.Cut();

        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'RECALLED'") == Files, "every recall recorded", agent);
        Assert.True(link.Accepted > sessionsBefore, "the agent never reconnected: the cut did not land");
        Assert.Equal(0, await world.CountAsync("state <> 'RECALLED'"));
        Assert.All(Directory.GetFiles(Path.Combine(world.Volume.Root, "many")), path => Assert.Null(LinuxStubs.Peek(path)));
        // Each recall was applied once: one audit entry per file, however often its report was sent.
        Assert.Equal(Files, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.recalled'"));
        Assert.Equal(Files, await world.CountAsync("access_count = 1"));
        // The session is gone at least once and nothing was refused for flooding the gateway.
        Assert.DoesNotContain("ResourceExhausted", agent.Output, StringComparison.Ordinal);
        Assert.Contains("Gateway session lost", agent.Output, StringComparison.Ordinal);
        Console.WriteLine($"{Files} recalls recorded in {clock.Elapsed.TotalSeconds:0.0} s across a cut session");
    }
}
