using Alto.TestSupport;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tiers;
using Alto.Grains.Tiers;
using Microsoft.Extensions.Options;

namespace Alto.Grains.Tests.Planning;

/// <summary>
/// What each outcome the agent reports leaves behind, through the host grain: the tier object's
/// state, its audit entry, and the job's status.
/// </summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class JobResultTests(PostgresClusterFixture fixture)
{
    private const string Sha = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    [Fact]
    public async Task EachOutcomeLeavesItsStateAndAuditEntryAndAnUnreachableTierTwoRequeuesTheJob()
    {
        var (world, jobId, objects, _) = await SentJobAsync("f", 4);

        await world.Host.RecordJobResultsAsync(Guid.NewGuid().ToString("N"), jobId,
        [
            new TierFileResult(objects[0], TierFileOutcome.Stubbed, Sha, "t/2c/26/" + Sha, null),
            new TierFileResult(objects[1], TierFileOutcome.Skipped, null, null, "the file changed since it was planned"),
            new TierFileResult(objects[2], TierFileOutcome.Failed, Sha, "t/2c/26/" + Sha, "hash mismatch; the original is kept"),
            new TierFileResult(objects[3], TierFileOutcome.Unavailable, null, null, "tier 2 could not be reached after 3 attempts"),
        ], finished: true);

        Assert.Equal(["STUBBED", "SKIPPED", "FAILED", "DISPATCHED"], await StatesAsync(objects));
        Assert.Equal(1, await Audit(objects[0], "tier.stubbed", "success"));
        Assert.Equal(1, await Audit(objects[1], "tier.skipped", "success"));
        Assert.Equal(1, await Audit(objects[2], "tier.failed", "failure"));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE object_id = '{objects[3]}' AND action <> 'tier.dispatched'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE object_id = '{jobId}' AND action = 'tier.unavailable' AND outcome = 'failure' AND details->>'files' = '1'"));
        // The unreachable file keeps the job queued, not before a minute from now, with the reason.
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.tiering_job WHERE id = '{jobId}' AND status = 'queued' AND lease_until > now() AND last_error LIKE 'tier 2 was unreachable%'"));

        // Once it is reached, the last file is stubbed and the job completes.
        await world.ExecuteAsync("UPDATE alto.tiering_job SET status = 'dispatched' WHERE id = $1", jobId);
        await world.Host.RecordJobResultsAsync(Guid.NewGuid().ToString("N"), jobId, [new TierFileResult(objects[3], TierFileOutcome.Stubbed, Sha, "t/x/" + Sha, null)], finished: true);
        Assert.Equal("STUBBED", (await StatesAsync([objects[3]]))[0]);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE id = '{jobId}' AND status = 'completed'"));
    }

    [Fact]
    public async Task AReportSentAgainIsAppliedOnceAndARefusedFileIsSkippedWithItsReason()
    {
        var (world, jobId, objects, _) = await SentJobAsync("r", 2);
        TierFileResult[] results =
        [
            new(objects[0], TierFileOutcome.Failed, null, null, "writing to tier 2 failed: No space left on device"),
            new(objects[1], TierFileOutcome.Refused, null, null, "recall on open is not armed for this file's file system"),
        ];

        // The agent sends the same report three times (a lost acknowledgement, then a reconnect).
        var reportId = Guid.NewGuid().ToString("N");
        for (var i = 0; i < 3; i++)
        {
            await world.Host.RecordJobResultsAsync(reportId, jobId, results, finished: false);
        }

        Assert.Equal(["FAILED", "SKIPPED"], await StatesAsync(objects));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT attempts FROM alto.tier_object WHERE id = {objects[0]}"));
        Assert.Equal(1, await Audit(objects[0], "tier.failed", "failure"));
        Assert.Equal(1, await Audit(objects[1], "tier.refused", "failure"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.tier_object WHERE id = {objects[1]} AND last_error LIKE 'recall on open is not armed%'"));
    }

    /// <summary>
    /// A file the agent refused (immutable, say) would be refused again by every plan: sent in a
    /// job, opened, refused and audited — a compliance folder of a million such files, in full,
    /// each time. It waits out its pause instead; a file merely skipped (it changed while it was
    /// read) is planned again at once.
    /// </summary>
    [Fact]
    public async Task ARefusedFileIsNotPlannedAgainBeforeItsPauseIsOver()
    {
        var (world, jobId, objects, _) = await SentJobAsync("held", 2);
        await world.Host.RecordJobResultsAsync(Guid.NewGuid().ToString("N"), jobId,
        [
            new(objects[0], TierFileOutcome.Refused, null, null, "the file is immutable (chattr +i): its data cannot be released, so it is not uploaded; the file is kept as it is"),
            new(objects[1], TierFileOutcome.Skipped, null, null, "the file changed while it was read"),
        ], finished: true);
        Assert.Equal(1, await fixture.Database.CountAsync($"""
            SELECT count(*) FROM alto.tier_object WHERE id = {objects[0]} AND state = 'SKIPPED'
              AND next_attempt_utc BETWEEN now() + interval '7 days' - interval '1 minute' AND now() + interval '7 days' + interval '1 minute'
            """));

        Assert.True((await world.Inventory.PlanAsync(dryRun: false)).Succeeded);

        Assert.Equal(["SKIPPED", "PLANNED"], await StatesAsync(objects));
        Assert.Equal(1, await Audit(objects[0], "tier.refused", "failure"));
        // Once the pause is over, it is the planner's again, from a fresh count.
        await world.ExecuteAsync("UPDATE alto.tier_object SET next_attempt_utc = now() - interval '1 minute' WHERE id = $1", objects[0]);
        Assert.True((await world.Inventory.PlanAsync(dryRun: false)).Succeeded);
        Assert.Equal(["PLANNED", "PLANNED"], await StatesAsync(objects));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.tier_object WHERE id = {objects[0]} AND next_attempt_utc IS NULL AND job_id IS NOT NULL AND attempts = 0"));
    }

    [Fact]
    public async Task AJobWhoseFilesAllFailedEndsFailedWithTheReasonInTheApiAuditAndLog()
    {
        var (world, jobId, objects, _) = await SentJobAsync("full", 3);
        var results = objects.Select(id => new TierFileResult(id, TierFileOutcome.Failed, null, null, "writing to tier 2 failed: No space left on device; the original is kept"));

        await world.Host.RecordJobResultsAsync(Guid.NewGuid().ToString("N"), jobId, [.. results], finished: true);

        Assert.Equal(1, await fixture.Database.CountAsync($"""
            SELECT count(*) FROM alto.tiering_job WHERE id = '{jobId}' AND status = 'failed'
              AND last_error = '3 of 3 files failed: writing to tier 2 failed: No space left on device; the original is kept'
            """));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE object_id = '{jobId}' AND action = 'tier.job_failed' AND outcome = 'failure' AND details->>'reason' LIKE '3 of 3 files failed%'"));
    }

    /// <summary>
    /// A job's end is written with its audit entry in one transaction: while the log refuses the
    /// entry (<see cref="AuditLogRefusal"/>) the report fails and the job stays dispatched; the same
    /// report sent again ends it, audited once. Before, the job ended unaudited and the report sent
    /// again found it over, so no entry was ever written.
    /// </summary>
    [Fact]
    public async Task AJobEndsOnlyWithItsAuditEntry()
    {
        var (world, jobId, objects, _) = await SentJobAsync("held-end", 2);
        TierFileResult[] results = [.. objects.Select(id => new TierFileResult(id, TierFileOutcome.Failed, null, null, "writing to tier 2 failed: No space left on device"))];
        var reportId = Guid.NewGuid().ToString("N");
        var ended = $"SELECT count(*) FROM alto.audit_log WHERE object_id = '{jobId}' AND action = 'tier.job_failed'";

        await using (await AuditLogRefusal.StartAsync(fixture.Database, $"NEW.action = 'tier.job_failed' AND NEW.object_id = '{jobId}'"))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => world.Host.RecordJobResultsAsync(reportId, jobId, results, finished: true));
        }
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE id = '{jobId}' AND status = 'dispatched'"));
        Assert.Equal(0, await fixture.Database.CountAsync(ended));

        await world.Host.RecordJobResultsAsync(reportId, jobId, results, finished: true);

        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE id = '{jobId}' AND status = 'failed'"));
        Assert.Equal(1, await fixture.Database.CountAsync(ended));
    }

    [Fact]
    public async Task ARescanThatFindsAStubsDataBackOnDiskRecordsTheRecallWhoseReportWasLost()
    {
        var (world, jobId, objects, ids) = await SentJobAsync("lost", 2);
        await world.Host.RecordJobResultsAsync(Guid.NewGuid().ToString("N"), jobId,
            [.. objects.Select(id => new TierFileResult(id, TierFileOutcome.Stubbed, Sha, "t/2c/26/" + Sha, null))], finished: true);
        Assert.Equal(["STUBBED", "STUBBED"], await StatesAsync(objects));

        // A later scan saw the first file without its locator (its recall report never came), the second still a stub.
        await world.ExecuteAsync("UPDATE alto.file_current SET is_stub = (file_current_id = $2), last_scan_utc = now() + interval '1 second' WHERE file_current_id = ANY($1)",
            ids, ids[1]);
        await world.Host.RecordScanAsync(DateTimeOffset.UtcNow, 2, 201);

        Assert.Equal(["RECALLED", "STUBBED"], await StatesAsync(objects));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE object_id = '{objects[0]}' AND action = 'tier.recalled' AND details->>'reason' LIKE 'a scan found%'"));
    }

    /// <summary>
    /// Files abandoned after their last attempt (the tier-2 share was full, say) are tried again
    /// once an admin fixed the cause and asks: all of a host's, or those below a folder, each
    /// audited, then planned afresh with a new count of attempts. Before, ABANDONED was for good:
    /// the files stayed on tier 1 whatever was fixed.
    /// </summary>
    [Fact]
    public async Task AbandonedFilesAreTriedAgainAtAnAdminsRequestFromAFreshCount()
    {
        var (world, jobId, objects, _) = await SentJobAsync(["/srv/projects/a.bin", "/srv/media/b.bin"]);
        await world.Host.RecordJobResultsAsync(Guid.NewGuid().ToString("N"), jobId,
            [.. objects.Select(id => new TierFileResult(id, TierFileOutcome.Failed, null, null, "writing to tier 2 failed: No space left on device"))], finished: true);
        await world.ExecuteAsync("UPDATE alto.tier_object SET state = 'ABANDONED', attempts = 3, next_attempt_utc = NULL WHERE id = ANY($1)", objects.ToArray());

        Alto.Audit.AuditContext.Set("user:alice", null);
        var outside = await world.Host.RetryAbandonedAsync("/var/tmp");
        Assert.Equal((CommandErrorKind.Invalid, "directory"), (outside.Error?.Kind, outside.Error?.Field));
        var below = await world.Host.RetryAbandonedAsync("/srv/projects");
        Assert.Equal(1, below.Value);
        Assert.Equal(["SKIPPED", "ABANDONED"], await StatesAsync(objects));
        Assert.Equal(1, await fixture.Database.CountAsync($"""
            SELECT count(*) FROM alto.audit_log WHERE object_id = '{objects[0]}' AND action = 'tier.retried' AND outcome = 'success'
              AND actor = 'user:alice' AND details->>'from' = 'ABANDONED'
            """));

        Assert.True((await world.Inventory.PlanAsync(dryRun: false)).Succeeded);
        Assert.Equal(["PLANNED", "ABANDONED"], await StatesAsync(objects));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.tier_object WHERE id = {objects[0]} AND attempts = 0 AND job_id IS NOT NULL AND job_id <> '{jobId}'"));
        Assert.Equal(1, (await world.Host.RetryAbandonedAsync(null)).Value);
        Assert.Equal(0, (await world.Host.RetryAbandonedAsync(null)).Value);
    }

    /// <summary>A world whose files are planned into one job that was sent (as a claim does): the job and the files' tier objects, in order.</summary>
    private Task<(PlanningWorld World, Guid JobId, List<long> Objects, long[] FileIds)> SentJobAsync(string name, int files) =>
        SentJobAsync([.. Enumerable.Range(0, files).Select(i => $"/srv/{name}{i}.bin")]);

    private async Task<(PlanningWorld World, Guid JobId, List<long> Objects, long[] FileIds)> SentJobAsync(string[] paths)
    {
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database);
        await world.AddRuleAsync("all", RuleCriteria.None with { MinSizeBytes = 0 });
        var ids = await world.AddFilesAsync([.. paths.Select((path, i) => new InventoryFile(path, 100 + i, 90 * PlanningWorld.Day, 90 * PlanningWorld.Day))]);
        Assert.True((await world.Inventory.PlanAsync(dryRun: false)).Succeeded);
        var jobId = Guid.Parse(await fixture.Database.ScalarAsync<string>($"SELECT id::text FROM alto.tiering_job WHERE host_id = '{world.HostId}'"));
        await world.ExecuteAsync("UPDATE alto.tiering_job SET status = 'dispatched', lease_until = now() + interval '10 minutes' WHERE id = $1", jobId);
        var objects = new List<long>();
        foreach (var fileId in ids)
        {
            objects.Add(await fixture.Database.CountAsync($"SELECT id FROM alto.tier_object WHERE file_current_id = {fileId}"));
        }
        var ledger = new TierObjectLedger(fixture.Database.DataSource, TimeProvider.System, Options.Create(new TierRetryOptions()));
        var dispatched = await ledger.ApplyAsync(world.HostId, [.. objects.Select(id => new TierChange(id, new TierEvent(TierEventKind.Dispatched, "test")))], CancellationToken.None);
        Assert.All(dispatched, outcome => Assert.True(outcome.Applied, outcome.Refusal));
        return (world, jobId, objects, ids);
    }

    private async Task<string[]> StatesAsync(IEnumerable<long> ids)
    {
        var states = new List<string>();
        foreach (var id in ids)
        {
            states.Add(await fixture.Database.ScalarAsync<string>($"SELECT state FROM alto.tier_object WHERE id = {id}"));
        }
        return [.. states];
    }

    private Task<long> Audit(long id, string action, string outcome) =>
        fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE object_id = '{id}' AND action = '{action}' AND outcome = '{outcome}'");
}
