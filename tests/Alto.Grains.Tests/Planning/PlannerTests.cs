using Alto.TestSupport;
using Alto.GrainInterfaces.Planning;
using Alto.GrainInterfaces.Rules;
using Alto.Grains.Planning;
using static Alto.TestSupport.PlanningWorld;

namespace Alto.Grains.Tests.Planning;

[Collection(PostgresClusterCollection.Name)]
public sealed class PlannerTests(PostgresClusterFixture fixture)
{
    private static readonly RuleCriteria ColdForAMonth = RuleCriteria.None with { AccessedOlderThanDays = 30 };

    private static List<InventoryFile> Files(int count, string folder, long accessedAgo, long size = 1000) =>
        [.. Enumerable.Range(0, count).Select(i => new InventoryFile($"/srv/{folder}/f{i:D5}.dat", size + i, accessedAgo, 400 * Day))];

    private static PlanSummary Planned(Alto.GrainInterfaces.Common.CommandResult<PlanSummary> result)
    {
        Assert.True(result.Succeeded, result.Error?.Message);
        return result.Value!;
    }

    [Fact]
    public async Task APlanWritesPlannedTierObjectsInJobsOfAtMostAThousandFilesWithEstimates()
    {
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database);
        var rule = await world.AddRuleAsync("cold", ColdForAMonth);
        await world.AddFilesAsync([.. Files(2500, "cold", 90 * Day), .. Files(300, "warm", Day)]);
        await world.Host.SetBandwidthLimitAsync(1_000_000);

        var plan = Planned(await world.Inventory.PlanAsync(dryRun: false));

        Assert.Equal((2800L, 2500L), (plan.FilesEvaluated, plan.FilesToTier));
        var expectedBytes = Enumerable.Range(0, 2500).Sum(i => 1000L + i);
        Assert.Equal(expectedBytes, plan.BytesToTier);
        Assert.Equal((expectedBytes + 999_999) / 1_000_000, plan.EstimatedTransferSeconds);
        Assert.Equal(new PlanChanges(2500, 0, 0, 0, 3, 0), plan.Changes);
        var planned = await world.PlannedAsync();
        Assert.Equal(2500, planned.Count);
        Assert.All(planned.Values, ruleId => Assert.Equal(rule.Id, ruleId));

        var jobs = await world.JobsAsync();
        Assert.Equal([500, 1000, 1000], jobs.Select(j => j.Files).Order());
        Assert.All(jobs, job =>
        {
            Assert.Equal((job.Files, job.Bytes), ((int)job.ActualFiles, job.ActualBytes));
            Assert.Equal((job.Bytes + 999_999) / 1_000_000, job.Seconds);
        });
        Assert.NotNull((await world.Host.GetAsync())!.LastPlannedAt);
    }

    [Fact]
    public async Task ADryRunReportsPerRuleAndWritesNothing()
    {
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database);
        var keep = await world.AddRuleAsync("keep projects", RuleCriteria.None with { PathGlobs = ["/srv/projects/**"] }, action: RuleAction.Exclude);
        var cold = await world.AddRuleAsync("cold", ColdForAMonth);
        await world.AddFilesAsync([.. Files(40, "projects", 90 * Day), .. Files(25, "cold", 90 * Day), .. Files(5, "warm", 0)]);

        var plan = Planned(await world.Inventory.PlanAsync(dryRun: true));

        Assert.True(plan.DryRun);
        Assert.Null(plan.Changes);
        Assert.Equal((70L, 25L), (plan.FilesEvaluated, plan.FilesToTier));
        var keptPlan = plan.Rules.Single(r => r.RuleId == keep.Id);
        var coldPlan = plan.Rules.Single(r => r.RuleId == cold.Id);
        Assert.Equal((40L, RuleAction.Exclude), (keptPlan.Files, keptPlan.Action));
        Assert.Equal(25L, coldPlan.Files);
        Assert.Equal(RuleTally.DefaultSamples, coldPlan.SamplePaths.Length);
        Assert.All(coldPlan.SamplePaths, path => Assert.StartsWith("/srv/cold/", path, StringComparison.Ordinal));
        Assert.Equal(PlanInput.EstimateSeconds(plan.BytesToTier, PlanInput.AssumedBytesPerSecond), plan.EstimatedTransferSeconds);

        Assert.Equal(0, await world.CountAsync("true"));
        Assert.Empty(await world.JobsAsync());
        Assert.Null((await world.Host.GetAsync())!.LastPlannedAt);
    }

    [Fact]
    public async Task ReplanningIsIdempotentAndFilesThatGotWarmOrWentAwayDropOut()
    {
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database);
        await world.AddRuleAsync("cold", ColdForAMonth);
        var ids = await world.AddFilesAsync(Files(1500, "cold", 90 * Day));
        var first = Planned(await world.Inventory.PlanAsync(dryRun: false));
        Assert.Equal(1500, first.Changes!.NewlyPlanned);
        var jobsBefore = (await world.JobsAsync()).Select(j => j.Id).Order().ToArray();

        var again = Planned(await world.Inventory.PlanAsync(dryRun: false));
        Assert.Equal(new PlanChanges(0, 0, 0, 1500, 0, 0), again.Changes);
        Assert.Equal(1500, await world.CountAsync("true"));
        Assert.Equal(jobsBefore, (await world.JobsAsync()).Select(j => j.Id).Order());

        // A rescan later: 200 files were read (warm), 50 deleted, 30 new cold files appeared.
        await world.ExecuteAsync("UPDATE alto.file_current SET atime_unix = extract(epoch FROM now())::bigint WHERE file_current_id = ANY($1)", ids[..200]);
        await world.ExecuteAsync("UPDATE alto.file_current SET deleted_utc = now() WHERE file_current_id = ANY($1)", ids[1000..1050]);
        await world.AddFilesAsync(Files(30, "new", 60 * Day));

        var third = Planned(await world.Inventory.PlanAsync(dryRun: false));
        Assert.Equal(30, third.Changes!.NewlyPlanned);
        Assert.Equal(250, third.Changes.Unplanned);
        Assert.Equal(1250, third.Changes.Unchanged);
        var planned = await world.PlannedAsync();
        Assert.Equal(1280, planned.Count);
        Assert.DoesNotContain(ids[0], planned.Keys);
        Assert.DoesNotContain(ids[1000], planned.Keys);
        Assert.Equal(1280, await world.CountAsync("true"));

        var jobs = await world.JobsAsync();
        Assert.All(jobs, job =>
        {
            Assert.InRange(job.Files, 1, JobPacker.MaxFiles);
            Assert.Equal((job.Files, job.Bytes), ((int)job.ActualFiles, job.ActualBytes));
        });
        Assert.Equal(1280, jobs.Sum(j => j.Files));
    }

    [Fact]
    public async Task ReorderedRulesMoveUndispatchedFilesAndExcludesUnplanThem()
    {
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database);
        var cold = await world.AddRuleAsync("cold", ColdForAMonth, priority: 10);
        var media = await world.AddRuleAsync("media", RuleCriteria.None with { PathGlobs = ["/srv/media/**"] }, priority: 20);
        await world.AddFilesAsync([.. Files(10, "media", 90 * Day), .. Files(10, "docs", 90 * Day)]);
        Planned(await world.Inventory.PlanAsync(dryRun: false));
        Assert.Equal(20, (await world.PlannedAsync()).Values.Count(r => r == cold.Id));

        Assert.True((await world.Tenant.ReorderRulesAsync([media.Id, cold.Id])).Succeeded);
        var moved = Planned(await world.Inventory.PlanAsync(dryRun: false));
        Assert.Equal((10L, 10L), (moved.Changes!.Moved, moved.Changes.Unchanged));
        var planned = await world.PlannedAsync();
        Assert.Equal((10, 10), (planned.Values.Count(r => r == media.Id), planned.Values.Count(r => r == cold.Id)));

        await world.AddRuleAsync("keep docs", RuleCriteria.None with { PathGlobs = ["/srv/docs"] }, priority: 1, action: RuleAction.Exclude);
        var excluded = Planned(await world.Inventory.PlanAsync(dryRun: false));
        Assert.Equal(10, excluded.Changes!.Unplanned);
        Assert.All((await world.PlannedAsync()).Values, ruleId => Assert.Equal(media.Id, ruleId));
        Assert.All(await world.JobsAsync(), job => Assert.Equal(job.Files, (int)job.ActualFiles));
    }

    [Fact]
    public async Task StubsAndFilesInFlightAreLeftAlone()
    {
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database);
        await world.AddRuleAsync("cold", ColdForAMonth);
        var stubs = Files(5, "stubs", 90 * Day).Select(f => f with { IsStub = true }).ToList();
        await world.AddFilesAsync(stubs);
        var ids = await world.AddFilesAsync(Files(5, "cold", 90 * Day));
        Planned(await world.Inventory.PlanAsync(dryRun: false));
        // Two of them are on their way to tier 2 and one came back (recalled) and stays cold.
        await world.ExecuteAsync("UPDATE alto.tier_object SET state = 'DISPATCHED' WHERE file_current_id = ANY($1)", ids[..2]);
        await world.ExecuteAsync("UPDATE alto.tier_object SET state = 'RECALLED', job_id = NULL, acted_utc = now(), access_count = 1 WHERE file_current_id = ANY($1)", ids[2..3]);

        var plan = Planned(await world.Inventory.PlanAsync(dryRun: false));

        Assert.Equal(7, plan.FilesAlreadyTiered);
        Assert.Equal(1, plan.Changes!.NewlyPlanned);
        Assert.Equal(2, await world.CountAsync("state = 'DISPATCHED'"));
        Assert.Equal(3, await world.CountAsync("state = 'PLANNED'"));
        Assert.Equal(1, await world.CountAsync($"file_current_id = {ids[2]} AND state = 'PLANNED' AND access_count = 1"));
    }

    [Fact]
    public async Task ARuleWhoseTargetIsDisabledHoldsItsFilesAndSaysWhy()
    {
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database);
        var rule = await world.AddRuleAsync("cold", ColdForAMonth);
        await world.AddFilesAsync(Files(10, "cold", 90 * Day));
        Planned(await world.Inventory.PlanAsync(dryRun: false));

        await world.Tenant.UpdateTargetAsync(world.TargetId, new Alto.GrainInterfaces.Tenants.UpdateStorageTarget(null, null, null, false));
        var plan = Planned(await world.Inventory.PlanAsync(dryRun: false));

        var held = plan.Rules.Single(r => r.RuleId == rule.Id);
        Assert.Contains("disabled", held.HeldBecause, StringComparison.Ordinal);
        Assert.Equal(0, plan.FilesToTier);
        Assert.Equal(10, plan.Changes!.Unplanned);
        Assert.Equal(0, await world.CountAsync("true"));
        Assert.Empty(await world.JobsAsync());
    }

    /// <summary>
    /// Plan requests are one-way messages to the host's inventory grain, which does one thing at a
    /// time: fifty requests made while it is busy become one plan after it — a plan or two more at
    /// most, as a timer's tick may fall between the queued requests — never fifty. Real plans of this host are told apart from others in
    /// the cluster by their file count, through the planner's own metric.
    /// </summary>
    [Fact]
    public async Task PlanRequestsMadeWhileTheInventoryIsBusyBecomeOnePlan()
    {
        const int HostFiles = 7_777;
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database);
        await world.AddRuleAsync("cold", ColdForAMonth);
        await world.AddFilesAsync(Files(HostFiles, "cold", 90 * Day));
        var realPlans = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, meters) =>
        {
            if (instrument.Name == "alto.plan.files_evaluated")
            {
                meters.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, files, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (files == HostFiles && tag.Key == "dry_run" && tag.Value is false)
                {
                    Interlocked.Increment(ref realPlans);
                }
            }
        });
        listener.Start();

        for (var i = 0; i < 50; i++)
        {
            await world.Inventory.RequestPlanAsync($"test {i}");
        }
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Volatile.Read(ref realPlans) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no plan came of fifty requests");
            await Task.Delay(50);
        }
        // A dry run queues behind whatever the grain still has to do; then once more, for a plan set meanwhile.
        await world.Inventory.PlanAsync(dryRun: true);
        await world.Inventory.PlanAsync(dryRun: true);

        Assert.InRange(Volatile.Read(ref realPlans), 1, 3);
        Assert.Equal(HostFiles, await world.CountAsync("state = 'PLANNED'"));
    }

    [Fact]
    public async Task ACompletedScanPlansTheHostAndTheTenantPlanAddsItsHostsUp()
    {
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database);
        await world.AddRuleAsync("cold", ColdForAMonth);
        await world.AddFilesAsync(Files(20, "cold", 90 * Day));
        var second = Guid.NewGuid();
        await world.AddHostAsync(second);
        await world.AddFilesAsync(Files(7, "cold", 90 * Day), second);

        await world.Host.RecordScanAsync(DateTimeOffset.UtcNow, 20, 20_190);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await world.CountAsync("state = 'PLANNED'") < 20)
        {
            Assert.True(DateTime.UtcNow < deadline, "the completed scan did not plan the host");
            await Task.Delay(50);
        }

        // ...and from then on the host is planned on a schedule too (one reminder, registered once).
        await world.Host.RecordScanAsync(DateTimeOffset.UtcNow, 20, 20_190);
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM orleans.reminder WHERE reminder_name = 'plan' AND grain_id LIKE '%{world.HostId}%'"));

        var preview = Planned(await world.Tenant.PlanAsync(dryRun: true));
        Assert.Equal((27L, 27L, 2), (preview.FilesEvaluated, preview.FilesToTier, preview.Hosts.Length));
        Assert.Equal(27, Assert.Single(preview.Rules).Files);
        var plan = Planned(await world.Tenant.PlanAsync(dryRun: false));
        Assert.Equal((7L, 20L), (plan.Changes!.NewlyPlanned, plan.Changes.Unchanged));
    }

    [Fact]
    public async Task ANewTenantPlansUnderManualApprovalAndLeavesFilesUnder64KiB()
    {
        var tenant = fixture.Client.GetGrain<Alto.GrainInterfaces.Tenants.ITenantGrain>(Guid.NewGuid().ToString());
        var created = (await tenant.CreateAsync(new Alto.GrainInterfaces.Tenants.CreateTenant($"defaults-{Guid.NewGuid():N}", ""))).Value!;
        Assert.Equal((Alto.GrainInterfaces.Tenants.PlanApproval.Manual, 65_536L), (created.PlanApproval, created.MinTierableBytes));

        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database, approval: created.PlanApproval, minTierableBytes: created.MinTierableBytes);
        await world.AddRuleAsync("cold", ColdForAMonth);
        await world.AddFilesAsync([new("/srv/tiny.txt", 8, 90 * Day, 90 * Day), new("/srv/just-under.bin", 65_535, 90 * Day, 90 * Day),
            new("/srv/big.iso", 65_536, 90 * Day, 90 * Day)]);

        var plan = Planned(await world.Inventory.PlanAsync(dryRun: false));

        Assert.Equal((1L, 2L), (plan.FilesToTier, plan.FilesBelowMinimumSize));
        Assert.Equal(["/srv/big.iso"], await world.Database.ScalarAsync<string[]>(
            $"SELECT array_agg(full_path) FROM alto.tier_object WHERE host_id = '{world.HostId}'"));
        Assert.Equal(1, await world.Database.CountAsync(
            $"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{world.HostId}' AND status = 'awaiting_approval'"));
    }

    [Fact]
    public async Task FilesOutsideTheHostsVolumesAreNeverPlannedAndLeaveTheirJobsWhenAVolumeGoes()
    {
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database);
        await world.AddRuleAsync("cold", ColdForAMonth);
        // A scan of a folder outside the volumes (alto-agent scan /home) put these in the inventory; /srvx only looks like /srv.
        await world.AddFilesAsync([.. Files(3, "in", 90 * Day), new("/home/me/old.iso", 5000, 90 * Day, 90 * Day), new("/srvx/old.iso", 5000, 90 * Day, 90 * Day)]);

        var plan = Planned(await world.Inventory.PlanAsync(dryRun: true));
        Assert.Equal((3L, 2L), (plan.FilesToTier, plan.FilesOutsideVolumes));
        Planned(await world.Inventory.PlanAsync(dryRun: false));
        Assert.Equal(3, await world.CountAsync("state = 'PLANNED'"));

        // The volume is taken off the host: its planned files leave their jobs.
        Assert.True((await world.Host.SetVolumesAsync(["/data"])).Succeeded);
        var replan = Planned(await world.Inventory.PlanAsync(dryRun: false));
        Assert.Equal(5L, replan.FilesOutsideVolumes);
        Assert.Equal(0, await world.CountAsync("state = 'PLANNED'"));
    }
}
