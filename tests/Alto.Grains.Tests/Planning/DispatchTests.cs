using Alto.TestSupport;
using Alto.GrainInterfaces.Hosts;
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
    private readonly DispatchRig _rig = new(fixture.Client, fixture.Database);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _rig.CloseSessionsAsync();

    [Fact]
    public async Task AFileWhoseTierTwoFailsTwiceIsTriedAgainAndStubbedOnItsThirdAttempt()
    {
        var (world, credential) = await _rig.PlannedHostAsync(paths: ["/srv/flaky.bin"]);
        var session = await _rig.ConnectAsync(world, credential);
        var seen = new HashSet<Guid>();

        await DispatchRig.ReportAsync(world, await DispatchRig.NextNewJobAsync(session, seen), TierFileOutcome.Failed);
        Assert.Equal(1, await world.CountAsync("state = 'FAILED' AND attempts = 1 AND next_attempt_utc > now()"));
        // Nothing is sent again before the backoff has passed; then the host itself plans and sends it, twice.
        await DispatchRig.ReportAsync(world, await DispatchRig.NextNewJobAsync(session, seen), TierFileOutcome.Failed);
        Assert.Equal(1, await world.CountAsync("state = 'FAILED' AND attempts = 2"));
        await DispatchRig.ReportAsync(world, await DispatchRig.NextNewJobAsync(session, seen), TierFileOutcome.Stubbed);

        Assert.Equal(1, await world.CountAsync("state = 'STUBBED'"));
        Assert.Equal(3, seen.Count);
        Assert.Equal(2, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.failed'"));
    }

    [Fact]
    public async Task AFileThatAlwaysFailsIsAbandonedAfterItsLastAttemptAndSaysSo()
    {
        var (world, credential) = await _rig.PlannedHostAsync(paths: ["/srv/doomed.bin"]);
        var session = await _rig.ConnectAsync(world, credential);
        var seen = new HashSet<Guid>();

        for (var attempt = 1; attempt <= Tiers.TierStateMachine.DefaultMaxAttempts; attempt++)
        {
            await DispatchRig.ReportAsync(world, await DispatchRig.NextNewJobAsync(session, seen), TierFileOutcome.Failed);
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
        var (world, credential) = await _rig.PlannedHostAsync();

        var session = await _rig.ConnectAsync(world, credential);
        var first = (await DispatchRig.WaitForJobsAsync(session, 1))[0];

        Assert.Equal(3, first.Files.Length);
        Assert.Equal((world.TargetId, "/mnt/archive"), (first.Target.Id, first.Target.Settings.Path));
        Assert.Equal(3, await world.CountAsync("state = 'DISPATCHED'"));
        Assert.Equal(3, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.dispatched'"));

        // No results: after the lease the same job, with the same files, goes out again.
        var again = (await DispatchRig.WaitForJobsAsync(session, 2))[1];
        Assert.Equal(first.JobId, again.JobId);
        Assert.Equal(first.Files.Select(f => f.TierObjectId).Order(), again.Files.Select(f => f.TierObjectId).Order());
        Assert.Equal(3, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.dispatched'"));
    }

    [Fact]
    public async Task ANewSessionGetsTheJobsTheOldOneLeftUnfinished()
    {
        var (world, credential) = await _rig.PlannedHostAsync();
        var first = await _rig.ConnectAsync(world, credential);
        var sent = (await DispatchRig.WaitForJobsAsync(first, 1))[0];

        var second = await _rig.ConnectAsync(world, credential);

        var resent = (await DispatchRig.WaitForJobsAsync(second, 1))[0];
        Assert.Equal(sent.JobId, resent.JobId);
        await world.Host.RecordJobResultsAsync(Guid.NewGuid().ToString("N"), resent.JobId,
            [.. resent.Files.Select(f => new TierFileResult(f.TierObjectId, TierFileOutcome.Skipped, null, null, "in use"))], finished: true);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE id = '{sent.JobId}' AND status = 'completed'"));
    }

    [Fact]
    public async Task NothingGoesOutUntilTheAgentReportsRecallArmedAndGuarded()
    {
        var (world, credential) = await _rig.PlannedHostAsync();
        var notRoot = new AgentMetrics(DateTimeOffset.UtcNow, 0, [new VolumeSpace("/srv", 1, 2) { RecallReason = "the agent is not running as root" }], 0, 0, 0)
        {
            RecallProblem = "the agent is not running as root",
        };
        var session = await _rig.ConnectAsync(world, credential, notRoot);

        Assert.Equal(0, await world.Host.DispatchAsync());
        // Armed, but the group would die with the agent (no guard): still nothing.
        Assert.Equal(SessionStanding.Current, await world.Host.HeartbeatAsync(_rig.LastSession.SessionId, _rig.LastSession.Credential,
            PlanningWorld.ArmedMetrics() with { RecallSurvivesRestart = false }));
        Assert.Equal(0, await world.Host.DispatchAsync());
        Assert.Empty(session.Jobs);
        Assert.Equal(3, await world.CountAsync("state = 'PLANNED'"));
        var reported = (await world.Host.GetAsync())!.LatestMetrics!;
        Assert.False(reported.RecallSurvivesRestart);

        // The heartbeat that arms recall sends the job at once.
        Assert.Equal(SessionStanding.Current, await world.Host.HeartbeatAsync(_rig.LastSession.SessionId, _rig.LastSession.Credential, PlanningWorld.ArmedMetrics()));
        Assert.Equal(3, Assert.Single(await DispatchRig.WaitForJobsAsync(session, 1)).Files.Length);
    }

    [Fact]
    public async Task FilesUnderAVolumeWithoutRecallWaitInTheirJobWhileTheOthersGo()
    {
        var (world, credential) = await _rig.PlannedHostAsync(volumes: ["/srv", "/data"], paths: ["/srv/a.bin", "/data/b.bin", "/srv/c.bin"]);

        var session = await _rig.ConnectAsync(world, credential, PlanningWorld.ArmedMetrics("/srv"));

        var job = Assert.Single(await DispatchRig.WaitForJobsAsync(session, 1));
        Assert.Equal(["/srv/a.bin", "/srv/c.bin"], job.Files.Select(f => f.Path).Order());
        Assert.Equal(1, await world.CountAsync("state = 'PLANNED' AND full_path = '/data/b.bin'"));

        // Cancelled, the job ends once the agent reports the files it had: the one it was never sent is held with them.
        Assert.Equal("cancelling", (await world.Host.CancelJobAsync(job.JobId, TimeSpan.FromDays(1), null)).Value!.Status);
        Assert.Null(await world.Host.RecordJobResultsAsync("cancelled", job.JobId,
            [.. job.Files.Select(file => new TierFileResult(file.TierObjectId, TierFileOutcome.Cancelled, null, null, "not started"))], finished: true));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE id = '{job.JobId}' AND status = 'cancelled'"));
        Assert.Equal(3, await world.CountAsync("state = 'SKIPPED' AND next_attempt_utc > now() + interval '23 hours'"));
    }

    [Fact]
    public async Task UnderManualApprovalJobsWaitUntilATenantAdminApprovesThem()
    {
        var (world, credential) = await _rig.PlannedHostAsync(PlanApproval.Manual);
        var jobId = Guid.Parse(await fixture.Database.ScalarAsync<string>($"SELECT id::text FROM alto.tiering_job WHERE host_id = '{world.HostId}'"));
        Assert.Equal("awaiting_approval", await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.tiering_job WHERE id = '{jobId}'"));
        var session = await _rig.ConnectAsync(world, credential);

        Assert.Equal(0, await world.Host.DispatchAsync());
        Assert.Empty(session.Jobs);
        // Planned again meanwhile, the waiting job is still the planner's: nothing moves out of it, nothing is planned twice.
        Assert.True((await world.Inventory.PlanAsync(dryRun: false)).Succeeded);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{world.HostId}'"));

        Alto.Audit.AuditContext.Set("user:approver", "192.0.2.7");
        var approved = await world.Host.ApproveJobsAsync(null);

        Assert.Equal([jobId], approved.JobIds);
        Assert.Equal(3, approved.Files);
        Assert.Equal(jobId, Assert.Single(await DispatchRig.WaitForJobsAsync(session, 1)).JobId);
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.tiering_job WHERE id = '{jobId}' AND approved_by = 'user:approver' AND approved_at IS NOT NULL"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.jobs_approved' AND actor = 'user:approver' AND origin = '192.0.2.7' AND host_id = '{world.HostId}'"));
        // Approving again approves nothing.
        Assert.Empty((await world.Host.ApproveJobsAsync([jobId])).JobIds);
    }

    [Fact]
    public async Task ADeclinedJobEndsAndItsFilesStayOutOfPlansUntilTheirHoldIsOver()
    {
        var (world, credential) = await _rig.PlannedHostAsync(PlanApproval.Manual);
        var jobId = Guid.Parse(await fixture.Database.ScalarAsync<string>($"SELECT id::text FROM alto.tiering_job WHERE host_id = '{world.HostId}'"));
        var session = await _rig.ConnectAsync(world, credential);

        Alto.Audit.AuditContext.Set("user:reviewer", "192.0.2.9");
        var declined = await world.Host.DeclineJobsAsync([jobId], TimeSpan.FromDays(2), "not before the audit");

        Assert.Equal([jobId], declined.JobIds);
        Assert.Equal(3, declined.Files);
        Assert.InRange(declined.HeldUntil!.Value, DateTimeOffset.UtcNow.AddDays(2).AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(2).AddMinutes(5));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.tiering_job WHERE id = '{jobId}' AND status = 'declined' AND completed_at IS NOT NULL " +
            "AND last_error = 'declined by user:reviewer: not before the audit'"));
        Assert.Equal(3, await world.CountAsync("state = 'SKIPPED' AND next_attempt_utc > now() + interval '1 day' AND last_error LIKE 'declined by user:reviewer%'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.jobs_declined' AND actor = 'user:reviewer' AND origin = '192.0.2.9' AND host_id = '{world.HostId}'"));
        Assert.Equal(3, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.declined' AND actor = 'user:reviewer' AND details->>'from' = 'PLANNED' AND host_id = '{world.HostId}'"));

        // Nothing is sent, a declined job is neither approved nor declined again, and the next plans leave its files alone.
        Assert.Equal(0, await world.Host.DispatchAsync());
        Assert.Empty((await world.Host.ApproveJobsAsync([jobId])).JobIds);
        Assert.Empty((await world.Host.DeclineJobsAsync(null, TimeSpan.FromDays(1), null)).JobIds);
        Assert.True((await world.Inventory.PlanAsync(dryRun: false)).Succeeded);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{world.HostId}'"));
        Assert.Empty(session.Jobs);

        // Released before the hold is over (below a folder of the host's, which a folder elsewhere is not), the host plans them again at once.
        Assert.NotNull((await world.Host.ReleaseHeldAsync("/elsewhere")).Error);
        Alto.Audit.AuditContext.Set("user:releaser", "192.0.2.10");
        Assert.Equal(3, (await world.Host.ReleaseHeldAsync("/srv")).Value);
        Assert.Equal(0, (await world.Host.ReleaseHeldAsync(null)).Value);
        Assert.Equal(3, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.released' AND actor = 'user:releaser' AND details->>'from' = 'SKIPPED' AND host_id = '{world.HostId}'"));
        await Eventually.WaitAsync(async () => await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{world.HostId}' AND status = 'awaiting_approval'") == 1, "the released files planned again");
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{world.HostId}' AND status = 'awaiting_approval' AND file_count = 3"));
        Assert.Equal(3, await world.CountAsync("state = 'PLANNED' AND attempts = 0"));

        // A waiting job with no file left (its files gone meanwhile) is declined all the same, with its entry.
        var empty = Guid.NewGuid();
        await fixture.Database.ExecuteAsync($"""
            INSERT INTO alto.tiering_job (id, tenant_id, host_id, target_id, status)
            SELECT '{empty}', tenant_id, host_id, target_id, 'awaiting_approval' FROM alto.tiering_job WHERE id = '{jobId}'
            """);
        Assert.Equal([empty], (await world.Host.DeclineJobsAsync([empty], TimeSpan.FromDays(1), null)).JobIds);
        Assert.Equal("declined|declined by user:releaser", await fixture.Database.ScalarAsync<string>(
            $"SELECT status || '|' || last_error FROM alto.tiering_job WHERE id = '{empty}'"));
        Assert.Equal(2, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.jobs_declined' AND host_id = '{world.HostId}'"));

        // Declining all of many waiting jobs (here the planned one and seven more) goes a few jobs per transaction, each with its entry, and holds every file.
        await fixture.Database.ExecuteAsync($"""
            INSERT INTO alto.tiering_job (id, tenant_id, host_id, target_id, status)
            SELECT gen_random_uuid(), tenant_id, host_id, target_id, 'awaiting_approval' FROM alto.tiering_job, generate_series(1, 7) WHERE id = '{jobId}'
            """);
        var all = await world.Host.DeclineJobsAsync(null, TimeSpan.FromDays(1), "all of them");
        Assert.Equal((8, 3L), (all.JobIds.Length, all.Files));
        Assert.NotNull(all.HeldUntil);
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{world.HostId}' AND status = 'awaiting_approval'"));
        Assert.Equal(3, await world.CountAsync("state = 'SKIPPED' AND next_attempt_utc > now()"));
        Assert.Equal(4, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.jobs_declined' AND host_id = '{world.HostId}'"));
    }

    [Fact]
    public async Task AJobNotSentIsCancelledAtOnceAndItsFilesAreHeld()
    {
        var (world, credential) = await _rig.PlannedHostAsync();
        var jobId = Guid.Parse(await fixture.Database.ScalarAsync<string>($"SELECT id::text FROM alto.tiering_job WHERE host_id = '{world.HostId}'"));

        Alto.Audit.AuditContext.Set("user:operator", "192.0.2.11");
        var cancelled = (await world.Host.CancelJobAsync(jobId, TimeSpan.FromDays(3), "the share is being migrated")).Value!;

        Assert.Equal(("cancelled", 3L), (cancelled.Status, cancelled.FilesHeld));
        Assert.InRange(cancelled.HeldUntil, DateTimeOffset.UtcNow.AddDays(3).AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(3).AddMinutes(5));
        Assert.Equal("cancelled|cancelled by user:operator: the share is being migrated", await fixture.Database.ScalarAsync<string>(
            $"SELECT status || '|' || last_error FROM alto.tiering_job WHERE id = '{jobId}' AND completed_at IS NOT NULL AND lease_until IS NULL"));
        Assert.Equal(3, await world.CountAsync("state = 'SKIPPED' AND next_attempt_utc > now() + interval '2 days' AND last_error LIKE 'cancelled by user:operator%'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.job_cancelled' AND actor = 'user:operator' AND origin = '192.0.2.11' " +
            $"AND details->>'statusBefore' = 'queued' AND (details->>'filesHeld')::int = 3 AND host_id = '{world.HostId}'"));
        Assert.Equal(3, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.cancelled' AND details->>'from' = 'PLANNED' AND host_id = '{world.HostId}'"));

        // Nothing goes out when the agent comes, the next plan leaves the files alone, and an ended job is not cancelled again.
        var session = await _rig.ConnectAsync(world, credential);
        Assert.Equal(0, await world.Host.DispatchAsync());
        Assert.True((await world.Inventory.PlanAsync(dryRun: false)).Succeeded);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{world.HostId}'"));
        Assert.Empty(session.Jobs);
        Assert.Equal(GrainInterfaces.Common.CommandErrorKind.Conflict, (await world.Host.CancelJobAsync(jobId, TimeSpan.FromDays(1), null)).Error?.Kind);
        // Another host's job, or none, is not found through this host.
        var (other, _) = await _rig.PlannedHostAsync();
        var othersJob = Guid.Parse(await fixture.Database.ScalarAsync<string>($"SELECT id::text FROM alto.tiering_job WHERE host_id = '{other.HostId}'"));
        Assert.Equal(GrainInterfaces.Common.CommandErrorKind.NotFound, (await world.Host.CancelJobAsync(othersJob, TimeSpan.FromDays(1), null)).Error?.Kind);
        Assert.Equal(GrainInterfaces.Common.CommandErrorKind.NotFound, (await world.Host.CancelJobAsync(Guid.NewGuid(), TimeSpan.FromDays(1), null)).Error?.Kind);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{other.HostId}' AND status = 'queued'"));
    }

    [Fact]
    public async Task AJobTheAgentHasEndsCancelledOnlyOnceTheAgentReportsTheFilesItDidNotStart()
    {
        var (world, credential) = await _rig.PlannedHostAsync(paths: ["/srv/a.bin", "/srv/b.bin", "/srv/c.bin", "/srv/d.bin"]);
        var session = await _rig.ConnectAsync(world, credential);
        var sent = (await DispatchRig.WaitForJobsAsync(session, 1))[0];
        Assert.Equal((1, false), (sent.Attempt, sent.Cancelled));
        var files = sent.Files.OrderBy(file => file.Path).ToArray();
        Assert.Null(await world.Host.RecordJobResultsAsync("first", sent.JobId,
            [new TierFileResult(files[0].TierObjectId, TierFileOutcome.Stubbed, new string('a', 64), "objects/a", null)], finished: false));

        Alto.Audit.AuditContext.Set("user:operator", "192.0.2.12");
        var cancelling = (await world.Host.CancelJobAsync(sent.JobId, TimeSpan.FromDays(2), "wrong rule")).Value!;

        // The agent is told; the files are still its own: nothing of them moves until it reports.
        Assert.Equal(("cancelling", 0L), (cancelling.Status, cancelling.FilesHeld));
        Assert.Equal(sent.JobId, Assert.Single(session.Cancelled));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.tiering_job WHERE id = '{sent.JobId}' AND status = 'dispatched' AND cancel_requested_at IS NOT NULL " +
            "AND cancel_reason = 'cancelled by user:operator: wrong rule' AND cancel_hold = interval '2 days'"));
        Assert.Equal(3, await world.CountAsync("state = 'DISPATCHED'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.job_cancel_requested' AND actor = 'user:operator' AND host_id = '{world.HostId}'"));
        // Asked again, it is still cancelling (the agent told again), with the first request's reason.
        Assert.Equal("cancelling", (await world.Host.CancelJobAsync(sent.JobId, TimeSpan.FromDays(9), "again")).Value!.Status);
        Assert.Equal(2, session.Cancelled.Count);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE id = '{sent.JobId}' AND cancel_reason LIKE '%wrong rule'"));

        // Its lease over, it goes again marked cancelled, as a new attempt, with no data keys: an agent that lost it reports, and tiers nothing.
        var resent = (await DispatchRig.WaitForJobsAsync(session, 2))[1];
        Assert.Equal((sent.JobId, 2, true), (resent.JobId, resent.Attempt, resent.Cancelled));
        Assert.All(resent.Files, file => Assert.Null(file.Key));

        // The agent reports one file stubbed after all (it was on its way), one not started, one it could not send; the job ends cancelled.
        Assert.Null(await world.Host.RecordJobResultsAsync("last", sent.JobId,
        [
            new TierFileResult(files[1].TierObjectId, TierFileOutcome.Stubbed, new string('b', 64), "objects/b", null),
            new TierFileResult(files[2].TierObjectId, TierFileOutcome.Cancelled, null, null, "not started: the job was cancelled"),
            new TierFileResult(files[3].TierObjectId, TierFileOutcome.Unavailable, null, null, "tier 2 could not be reached"),
        ], finished: true));

        Assert.Equal("cancelled|cancelled by user:operator: wrong rule", await fixture.Database.ScalarAsync<string>(
            $"SELECT status || '|' || last_error FROM alto.tiering_job WHERE id = '{sent.JobId}' AND completed_at IS NOT NULL AND lease_until IS NULL"));
        Assert.Equal(2, await world.CountAsync("state = 'STUBBED'"));
        Assert.Equal(2, await world.CountAsync(
            "state = 'SKIPPED' AND next_attempt_utc BETWEEN now() + interval '47 hours' AND now() + interval '49 hours' AND last_error LIKE 'cancelled by user:operator: wrong rule%'"));
        Assert.Equal(1, await world.CountAsync("state = 'SKIPPED' AND last_error LIKE '%(tier 2 could not be reached)'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.job_cancelled' AND actor = 'agent:{world.HostId}' AND host_id = '{world.HostId}'"));
        Assert.Equal(2, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.cancelled' AND host_id = '{world.HostId}'"));
        Assert.Equal(GrainInterfaces.Common.CommandErrorKind.Conflict, (await world.Host.CancelJobAsync(sent.JobId, TimeSpan.FromDays(1), null)).Error?.Kind);
    }

    [Fact]
    public async Task AJobQueuedAgainWithFilesTheAgentLeftIsCancelledThroughTheAgentAtOnce()
    {
        var (world, credential) = await _rig.PlannedHostAsync();
        var session = await _rig.ConnectAsync(world, credential);
        var sent = (await DispatchRig.WaitForJobsAsync(session, 1))[0];
        // Tier 2 unreachable: the job is queued again (for a minute) with its files still dispatched.
        await DispatchRig.ReportAsync(world, sent, TierFileOutcome.Unavailable);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE id = '{sent.JobId}' AND status = 'queued'"));

        var cancelling = (await world.Host.CancelJobAsync(sent.JobId, TimeSpan.FromDays(1), null)).Value!;

        // Its files are the agent's to report: it goes at once, marked cancelled; the report ends it.
        Assert.Equal("cancelling", cancelling.Status);
        var resent = (await DispatchRig.WaitForJobsAsync(session, 2))[1];
        Assert.Equal((sent.JobId, true, 2), (resent.JobId, resent.Cancelled, resent.Attempt));
        Assert.Null(await world.Host.RecordJobResultsAsync("cancelled", sent.JobId,
            [.. resent.Files.Select(file => new TierFileResult(file.TierObjectId, TierFileOutcome.Cancelled, null, null, "not started"))], finished: true));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE id = '{sent.JobId}' AND status = 'cancelled'"));
        Assert.Equal(3, await world.CountAsync("state = 'SKIPPED' AND next_attempt_utc > now() + interval '23 hours'"));
    }

    [Fact]
    public async Task ACancelledJobTheAgentCannotRunEndsCancelledWithEveryFileHeld()
    {
        var (world, credential) = await _rig.PlannedHostAsync();
        var session = await _rig.ConnectAsync(world, credential);
        var sent = (await DispatchRig.WaitForJobsAsync(session, 1))[0];
        Assert.Equal("cancelling", (await world.Host.CancelJobAsync(sent.JobId, TimeSpan.FromDays(1), "not now")).Value!.Status);

        // The agent refuses the whole job (it has no stub driver): it touched none of its files.
        await world.Host.AcknowledgeAsync(JobMessageIds.Of(sent.JobId, sent.Attempt), false, "this agent cannot run TieringJob commands");

        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE id = '{sent.JobId}' AND status = 'cancelled'"));
        Assert.Equal(3, await world.CountAsync("state = 'SKIPPED' AND next_attempt_utc > now() + interval '23 hours' AND last_error LIKE 'cancelled by %: not now'"));
    }
}
