using Alto.TestSupport;
using System.Collections.Concurrent;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tenants;
using Alto.GrainInterfaces.Tiers;

namespace Alto.Grains.Tests.Planning;

/// <summary>
/// Dispatch through a session observer held by the test (the gateway's part): a job goes out when
/// the agent connects, with its target's secrets; unfinished, it is sent again when its lease
/// (two seconds in this cluster) runs out; and a new session after the old one ended gets it.
/// </summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class DispatchTests(PostgresClusterFixture fixture) : IAsyncLifetime
{
    private readonly List<(IHostGrain Host, Guid SessionId, IAgentSessionObserver Observer)> _sessions = [];
    private (Guid SessionId, string Credential) _heartbeat;

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>
    /// Sessions are closed and their observers released: a grain must not keep re-sending jobs to
    /// this client's observers until the shared cluster shuts down (a late message to a disposed
    /// client takes the test host down).
    /// </summary>
    public async Task DisposeAsync()
    {
        foreach (var (host, sessionId, observer) in _sessions)
        {
            await host.CloseSessionAsync(sessionId);
            fixture.Client.DeleteObjectReference<IAgentSessionObserver>(observer);
        }
    }

    private sealed class RecordingSession : IAgentSessionObserver
    {
        public ConcurrentQueue<TierJobPayload> Jobs { get; } = new();

        public Task DeliverAsync(AgentCommand command) => Task.CompletedTask;

        public Task DeliverJobAsync(TierJobPayload job)
        {
            Jobs.Enqueue(job);
            return Task.CompletedTask;
        }

        public Task ConfigureAsync(string[] volumes, long bandwidthLimitBytesPerSecond, LucidLinkVolume? lucidLink) => Task.CompletedTask;

        public Task EndAsync(SessionStanding standing, string reason) => Task.CompletedTask;
    }

    private async Task<(PlanningWorld World, string Credential)> PlannedHostAsync(
        PlanApproval approval = PlanApproval.Auto, string[]? volumes = null, string[]? paths = null)
    {
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database, approval: approval);
        if (volumes is not null)
        {
            Assert.True((await world.Host.SetVolumesAsync(volumes)).Succeeded);
        }
        var token = (await world.Host.RenewEnrollmentTokenAsync(TimeSpan.FromHours(1))).Value!.EnrollmentToken;
        var credential = (await world.Host.EnrollAsync(new EnrollHost(token, "1.0", "fs"))).Value!.Credential;
        await world.AddRuleAsync("all", RuleCriteria.None with { MinSizeBytes = 0 });
        paths ??= [.. Enumerable.Range(0, 3).Select(i => $"/srv/f{i}.bin")];
        await world.AddFilesAsync([.. paths.Select((path, i) => new InventoryFile(path, 10 + i, 90 * PlanningWorld.Day, 90 * PlanningWorld.Day))]);
        Assert.True((await world.Inventory.PlanAsync(dryRun: false)).Succeeded);
        return (world, credential);
    }

    private Task<RecordingSession> ConnectAsync(PlanningWorld world, string credential) => ConnectAsync(world, credential, PlanningWorld.ArmedMetrics());

    private async Task<RecordingSession> ConnectAsync(PlanningWorld world, string credential, AgentMetrics firstHeartbeat)
    {
        var session = new RecordingSession();
        var observer = fixture.Client.CreateObjectReference<IAgentSessionObserver>(session);
        var sessionId = Guid.NewGuid();
        _sessions.Add((world.Host, sessionId, observer));
        var standing = await world.Host.OpenSessionAsync(
            new AgentSession(sessionId, "test-gateway", "1.0", "linux", [], DateTimeOffset.UtcNow), credential, TimeSpan.FromMinutes(5), observer);
        Assert.Equal(SessionStanding.Current, standing);
        Assert.Equal(SessionStanding.Current, await world.Host.HeartbeatAsync(sessionId, credential, firstHeartbeat));
        _heartbeat = (sessionId, credential);
        return session;
    }

    private static async Task<TierJobPayload[]> WaitForJobsAsync(RecordingSession session, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (session.Jobs.Count < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{session.Jobs.Count} of {count} deliveries arrived");
            await Task.Delay(50);
        }
        return [.. session.Jobs];
    }

    /// <summary>Waits for a job not seen before (lease re-sends of earlier jobs are passed over) and marks it seen.</summary>
    private static async Task<TierJobPayload> NextNewJobAsync(RecordingSession session, HashSet<Guid> seen)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (session.Jobs.FirstOrDefault(job => !seen.Contains(job.JobId)) is { } job)
            {
                seen.Add(job.JobId);
                return job;
            }
            Assert.True(DateTime.UtcNow < deadline, $"no new job came; {seen.Count} so far");
            await Task.Delay(50);
        }
    }

    private static async Task ReportAsync(PlanningWorld world, TierJobPayload job, TierFileOutcome outcome) =>
        Assert.Null(await world.Host.RecordJobResultsAsync(Guid.NewGuid().ToString("N"), job.JobId,
            [.. job.Files.Select(file => outcome == TierFileOutcome.Stubbed
                ? new TierFileResult(file.TierObjectId, outcome, new string('a', 64), $"objects/{file.TierObjectId}", null)
                : new TierFileResult(file.TierObjectId, outcome, null, null, "tier 2 refused the write (stand-in agent)"))],
            finished: true));

    [Fact]
    public async Task AFileWhoseTierTwoFailsTwiceIsTriedAgainAndStubbedOnItsThirdAttempt()
    {
        var (world, credential) = await PlannedHostAsync(paths: ["/srv/flaky.bin"]);
        var session = await ConnectAsync(world, credential);
        var seen = new HashSet<Guid>();

        await ReportAsync(world, await NextNewJobAsync(session, seen), TierFileOutcome.Failed);
        Assert.Equal(1, await world.CountAsync("state = 'FAILED' AND attempts = 1 AND next_attempt_utc > now()"));
        // Nothing is sent again before the backoff has passed; then the host itself plans and sends it, twice.
        await ReportAsync(world, await NextNewJobAsync(session, seen), TierFileOutcome.Failed);
        Assert.Equal(1, await world.CountAsync("state = 'FAILED' AND attempts = 2"));
        await ReportAsync(world, await NextNewJobAsync(session, seen), TierFileOutcome.Stubbed);

        Assert.Equal(1, await world.CountAsync("state = 'STUBBED'"));
        Assert.Equal(3, seen.Count);
        Assert.Equal(2, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.failed'"));
    }

    [Fact]
    public async Task AFileThatAlwaysFailsIsAbandonedAfterItsLastAttemptAndSaysSo()
    {
        var (world, credential) = await PlannedHostAsync(paths: ["/srv/doomed.bin"]);
        var session = await ConnectAsync(world, credential);
        var seen = new HashSet<Guid>();

        for (var attempt = 1; attempt <= Tiers.TierStateMachine.DefaultMaxAttempts; attempt++)
        {
            await ReportAsync(world, await NextNewJobAsync(session, seen), TierFileOutcome.Failed);
        }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        var abandonedEntries = $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.abandoned'";
        while (await fixture.Database.CountAsync(abandonedEntries) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the file was not abandoned");
            await Task.Delay(100);
        }
        Assert.Equal(1, await world.CountAsync($"state = 'ABANDONED' AND attempts = {Tiers.TierStateMachine.DefaultMaxAttempts}"));
        Assert.Equal("/srv/doomed.bin", await fixture.Database.ScalarAsync<string>(
            $"SELECT details->>'path' FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.abandoned' AND outcome = 'failure'"));
        // Given up for good: no further job goes out for it.
        Assert.Equal(0, await world.Host.DispatchAsync());
        Assert.Equal(Tiers.TierStateMachine.DefaultMaxAttempts, session.Jobs.Select(job => job.JobId).Distinct().Count());
    }

    [Fact]
    public async Task AJobGoesOutWhenTheAgentConnectsAndAgainWhenItsLeaseRunsOut()
    {
        var (world, credential) = await PlannedHostAsync();

        var session = await ConnectAsync(world, credential);
        var first = (await WaitForJobsAsync(session, 1))[0];

        Assert.Equal(3, first.Files.Length);
        Assert.Equal((world.TargetId, "/mnt/archive"), (first.Target.Id, first.Target.Settings.Path));
        Assert.Equal(3, await world.CountAsync("state = 'DISPATCHED'"));
        Assert.Equal(3, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.dispatched'"));

        // No results: after the lease the same job, with the same files, goes out again.
        var again = (await WaitForJobsAsync(session, 2))[1];
        Assert.Equal(first.JobId, again.JobId);
        Assert.Equal(first.Files.Select(f => f.TierObjectId).Order(), again.Files.Select(f => f.TierObjectId).Order());
        Assert.Equal(3, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.dispatched'"));
    }

    [Fact]
    public async Task ANewSessionGetsTheJobsTheOldOneLeftUnfinished()
    {
        var (world, credential) = await PlannedHostAsync();
        var first = await ConnectAsync(world, credential);
        var sent = (await WaitForJobsAsync(first, 1))[0];

        var second = await ConnectAsync(world, credential);

        var resent = (await WaitForJobsAsync(second, 1))[0];
        Assert.Equal(sent.JobId, resent.JobId);
        await world.Host.RecordJobResultsAsync(Guid.NewGuid().ToString("N"), resent.JobId,
            [.. resent.Files.Select(f => new TierFileResult(f.TierObjectId, TierFileOutcome.Skipped, null, null, "in use"))], finished: true);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE id = '{sent.JobId}' AND status = 'completed'"));
    }

    [Fact]
    public async Task OutsideTheHostsTransferWindowsJobsWait()
    {
        var (world, credential) = await PlannedHostAsync();
        var now = DateTimeOffset.UtcNow;
        // A one-hour window that ended an hour ago (every day), so nothing may go now.
        var closed = new TransferWindow("daily", now.AddHours(-2).ToString("HH:00", System.Globalization.CultureInfo.InvariantCulture),
            now.AddHours(-1).ToString("HH:00", System.Globalization.CultureInfo.InvariantCulture), null);
        Assert.True((await world.Host.SetTransferWindowsAsync([closed], "UTC")).Succeeded);

        var session = await ConnectAsync(world, credential);
        // Asked to dispatch now, the host sends nothing: the window, not timing, holds the jobs back.
        Assert.Equal(0, await world.Host.DispatchAsync());
        Assert.Equal(0, await world.Host.DispatchAsync());
        Assert.Empty(session.Jobs);
        Assert.Equal(3, await world.CountAsync("state = 'PLANNED'"));

        Assert.True((await world.Host.SetTransferWindowsAsync([], "UTC")).Succeeded);
        Assert.Single(await WaitForJobsAsync(session, 1));
        Assert.Equal(0, await world.CountAsync("state = 'PLANNED'"));
    }

    [Fact]
    public async Task NothingGoesOutUntilTheAgentReportsRecallArmedAndGuarded()
    {
        var (world, credential) = await PlannedHostAsync();
        var notRoot = new AgentMetrics(DateTimeOffset.UtcNow, 0, [new VolumeSpace("/srv", 1, 2) { RecallReason = "the agent is not running as root" }], 0, 0, 0)
        {
            RecallProblem = "the agent is not running as root",
        };
        var session = await ConnectAsync(world, credential, notRoot);

        Assert.Equal(0, await world.Host.DispatchAsync());
        // Armed, but the group would die with the agent (no guard): still nothing.
        Assert.Equal(SessionStanding.Current, await world.Host.HeartbeatAsync(_heartbeat.SessionId, _heartbeat.Credential,
            PlanningWorld.ArmedMetrics() with { RecallSurvivesRestart = false }));
        Assert.Equal(0, await world.Host.DispatchAsync());
        Assert.Empty(session.Jobs);
        Assert.Equal(3, await world.CountAsync("state = 'PLANNED'"));
        var reported = (await world.Host.GetAsync())!.LatestMetrics!;
        Assert.False(reported.RecallSurvivesRestart);

        // The heartbeat that arms recall sends the job at once.
        Assert.Equal(SessionStanding.Current, await world.Host.HeartbeatAsync(_heartbeat.SessionId, _heartbeat.Credential, PlanningWorld.ArmedMetrics()));
        Assert.Equal(3, Assert.Single(await WaitForJobsAsync(session, 1)).Files.Length);
    }

    [Fact]
    public async Task FilesUnderAVolumeWithoutRecallWaitInTheirJobWhileTheOthersGo()
    {
        var (world, credential) = await PlannedHostAsync(volumes: ["/srv", "/data"], paths: ["/srv/a.bin", "/data/b.bin", "/srv/c.bin"]);

        var session = await ConnectAsync(world, credential, PlanningWorld.ArmedMetrics("/srv"));

        var job = Assert.Single(await WaitForJobsAsync(session, 1));
        Assert.Equal(["/srv/a.bin", "/srv/c.bin"], job.Files.Select(f => f.Path).Order());
        Assert.Equal(1, await world.CountAsync("state = 'PLANNED' AND full_path = '/data/b.bin'"));
    }

    [Fact]
    public async Task UnderManualApprovalJobsWaitUntilATenantAdminApprovesThem()
    {
        var (world, credential) = await PlannedHostAsync(PlanApproval.Manual);
        var jobId = Guid.Parse(await fixture.Database.ScalarAsync<string>($"SELECT id::text FROM alto.tiering_job WHERE host_id = '{world.HostId}'"));
        Assert.Equal("awaiting_approval", await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.tiering_job WHERE id = '{jobId}'"));
        var session = await ConnectAsync(world, credential);

        Assert.Equal(0, await world.Host.DispatchAsync());
        Assert.Empty(session.Jobs);
        // Planned again meanwhile, the waiting job is still the planner's: nothing moves out of it, nothing is planned twice.
        Assert.True((await world.Inventory.PlanAsync(dryRun: false)).Succeeded);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{world.HostId}'"));

        Alto.Audit.AuditContext.Set("user:approver", "192.0.2.7");
        var approved = await world.Host.ApproveJobsAsync(null);

        Assert.Equal([jobId], approved.JobIds);
        Assert.Equal(3, approved.Files);
        Assert.Equal(jobId, Assert.Single(await WaitForJobsAsync(session, 1)).JobId);
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.tiering_job WHERE id = '{jobId}' AND approved_by = 'user:approver' AND approved_at IS NOT NULL"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.jobs_approved' AND actor = 'user:approver' AND origin = '192.0.2.7' AND host_id = '{world.HostId}'"));
        // Approving again approves nothing.
        Assert.Empty((await world.Host.ApproveJobsAsync([jobId])).JobIds);
    }
}
