using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tiers;

namespace Alto.Grains.Tests.Planning;

[Collection(PostgresClusterCollection.Name)]
public sealed class TierObjectGrainTests(PostgresClusterFixture fixture)
{
    private const string Sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    private async Task<(PlanningWorld World, ITierObjectGrain Grain, long Id)> PlannedObjectAsync()
    {
        var world = await PlanningWorld.CreateAsync(fixture);
        await world.AddRuleAsync("all", RuleCriteria.None with { MinSizeBytes = 0 });
        await world.AddFilesAsync([new InventoryFile("/srv/a/report.pdf", 4242, 400 * PlanningWorld.Day, 400 * PlanningWorld.Day)]);
        Assert.True((await world.Host.PlanAsync(dryRun: false)).Succeeded);
        var id = await fixture.Database.CountAsync($"SELECT id FROM alto.tier_object WHERE host_id = '{world.HostId}'");
        return (world, fixture.Client.GetGrain<ITierObjectGrain>(id), id);
    }

    private Task<long> AuditCountAsync(long id) =>
        fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE object_type = 'tier_object' AND object_id = '{id}'");

    private static TierObjectInfo Ok(CommandResult<TierObjectInfo> result)
    {
        Assert.True(result.Succeeded, result.Error?.Message);
        return result.Value!;
    }

    [Fact]
    public async Task AStubbedResultMovesADispatchedObjectThroughUploadedToStubbedWithAnAuditEntryPerEvent()
    {
        var (world, grain, id) = await PlannedObjectAsync();

        Ok(await grain.ApplyAsync(new TierEvent(TierEventKind.Dispatched, "host:test")));
        var stubbed = Ok(await grain.ApplyAsync(new TierEvent(TierEventKind.Stubbed, $"agent:{world.HostId}", Sha, "t/aa/bb/" + Sha)));

        Assert.Equal((TierState.Stubbed, Sha, "t/aa/bb/" + Sha), (stubbed.State, stubbed.Hash, stubbed.Locator));
        Assert.NotNull(stubbed.ActedAt);
        Assert.Equal("STUBBED", await fixture.Database.ScalarAsync<string>($"SELECT state FROM alto.tier_object WHERE id = {id}"));
        Assert.Equal(2, await AuditCountAsync(id));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE object_id = '{id}' AND action = 'tier.stubbed' AND details->>'from' = 'DISPATCHED' AND details->>'to' = 'STUBBED' AND details->>'sha256' = '{Sha}'"));

        // The agent repeats its result after a reconnect: nothing changes, nothing more is audited.
        Ok(await grain.ApplyAsync(new TierEvent(TierEventKind.Stubbed, "agent", Sha, "t/aa/bb/" + Sha)));
        Assert.Equal(2, await AuditCountAsync(id));

        var recalled = Ok(await grain.ApplyAsync(new TierEvent(TierEventKind.Recalled, "agent")));
        Assert.Equal((TierState.Recalled, 1L), (recalled.State, recalled.AccessCount));
    }

    [Fact]
    public async Task IllegalMovesAreRefusedAndChangeNothing()
    {
        var (_, grain, id) = await PlannedObjectAsync();

        var refused = await grain.ApplyAsync(new TierEvent(TierEventKind.Stubbed, "agent", Sha, "x/" + Sha));
        Assert.Equal(CommandErrorKind.Conflict, refused.Error?.Kind);
        var noHash = await grain.ApplyAsync(new TierEvent(TierEventKind.Recalled, "agent"));
        Assert.Equal(CommandErrorKind.Conflict, noHash.Error?.Kind);

        Assert.Equal(TierState.Planned, (await grain.GetAsync())!.State);
        Assert.Equal(0, await AuditCountAsync(id));
    }

    [Fact]
    public async Task AFailureCountsAnAttemptAndSchedulesTheRetry()
    {
        var (_, grain, id) = await PlannedObjectAsync();
        Ok(await grain.ApplyAsync(new TierEvent(TierEventKind.Dispatched, "host")));

        var failed = Ok(await grain.ApplyAsync(new TierEvent(TierEventKind.Failed, "agent", Reason: "hash mismatch; the original is kept")));

        Assert.Equal((TierState.Failed, 1, "hash mismatch; the original is kept"), (failed.State, failed.Attempts, failed.LastError));
        Assert.True(failed.NextAttemptAt > DateTimeOffset.UtcNow);
        Assert.Equal("tiering", await fixture.Database.ScalarAsync<string>($"SELECT failed_during FROM alto.tier_object WHERE id = {id}"));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE object_id = '{id}' AND action = 'tier.failed' AND outcome = 'failure'"));
    }
}
