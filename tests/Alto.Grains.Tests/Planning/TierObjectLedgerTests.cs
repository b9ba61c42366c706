using Alto.TestSupport;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tiers;
using Alto.Grains.Tiers;
using Microsoft.Extensions.Options;

namespace Alto.Grains.Tests.Planning;

/// <summary>The host-side writer of tier objects, on real rows: batches of moves, audited, all or nothing per move.</summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class TierObjectLedgerTests(PostgresClusterFixture fixture)
{
    private const string Sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    private TierObjectLedger Ledger => new(fixture.Database.DataSource, TimeProvider.System, Options.Create(new TierRetryOptions()));

    private async Task<(PlanningWorld World, long[] Ids)> PlannedObjectsAsync(int count = 1)
    {
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database);
        await world.AddRuleAsync("all", RuleCriteria.None with { MinSizeBytes = 0 });
        await world.AddFilesAsync([.. Enumerable.Range(0, count).Select(i =>
            new InventoryFile($"/srv/a/report{i}.pdf", 4242 + i, 400 * PlanningWorld.Day, 400 * PlanningWorld.Day))]);
        Assert.True((await world.Inventory.PlanAsync(dryRun: false)).Succeeded);
        var ids = new long[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = await fixture.Database.CountAsync($"SELECT id FROM alto.tier_object WHERE host_id = '{world.HostId}' AND full_path = '/srv/a/report{i}.pdf'");
        }
        return (world, ids);
    }

    private Task<long> AuditCountAsync(long id) =>
        fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE object_type = 'tier_object' AND object_id = '{id}'");

    private async Task<TierObjectInfo> ApplyOneAsync(PlanningWorld world, long id, TierEvent change)
    {
        var outcome = Assert.Single(await Ledger.ApplyAsync(world.HostId, [new TierChange(id, change)], CancellationToken.None));
        Assert.True(outcome.Applied, outcome.Refusal);
        return outcome.After!;
    }

    [Fact]
    public async Task AStubbedResultMovesADispatchedObjectThroughUploadedToStubbedWithAnAuditEntryPerEvent()
    {
        var (world, ids) = await PlannedObjectsAsync();
        var id = ids[0];

        await ApplyOneAsync(world, id, new TierEvent(TierEventKind.Dispatched, "host:test"));
        var stubbed = await ApplyOneAsync(world, id, new TierEvent(TierEventKind.Stubbed, $"agent:{world.HostId}", Sha, "t/aa/bb/" + Sha));

        Assert.Equal((TierState.Stubbed, Sha, "t/aa/bb/" + Sha), (stubbed.State, stubbed.Hash, stubbed.Locator));
        Assert.NotNull(stubbed.ActedAt);
        Assert.Equal("STUBBED", await fixture.Database.ScalarAsync<string>($"SELECT state FROM alto.tier_object WHERE id = {id}"));
        Assert.Equal(2, await AuditCountAsync(id));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE object_id = '{id}' AND action = 'tier.stubbed' AND details->>'from' = 'DISPATCHED' AND details->>'to' = 'STUBBED' AND details->>'sha256' = '{Sha}'"));

        // The inventory counts the file a stub at once, and so does the capacity summary.
        Assert.True(await fixture.Database.ScalarAsync<bool>($"SELECT f.is_stub FROM alto.file_current f JOIN alto.tier_object t USING (file_current_id) WHERE t.id = {id}"));
        Assert.Equal("1/4242", await StubSummaryAsync(world));

        // The agent repeats its result after a reconnect: nothing changes, nothing more is audited.
        await ApplyOneAsync(world, id, new TierEvent(TierEventKind.Stubbed, "agent", Sha, "t/aa/bb/" + Sha));
        Assert.Equal(2, await AuditCountAsync(id));

        var recalled = await ApplyOneAsync(world, id, new TierEvent(TierEventKind.Recalled, "agent"));
        Assert.Equal((TierState.Recalled, 1L), (recalled.State, recalled.AccessCount));
        // A recall is an access: the inventory sees the file warm, and no longer a stub.
        Assert.Equal("recall", await fixture.Database.ScalarAsync<string>(
            $"SELECT f.last_accessed_source FROM alto.file_current f JOIN alto.tier_object t USING (file_current_id) WHERE t.id = {id}"));
        Assert.Equal("0/0", await StubSummaryAsync(world));
        // Accessed now: the file's bytes moved to today's access day.
        Assert.Equal(4242, await fixture.Database.CountAsync(
            $"SELECT bytes FROM alto.capacity_summary WHERE host_id = '{world.HostId}' AND dimension = 'access_day' AND key = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')"));
    }

    /// <summary>Stub files and bytes of the host by the capacity summary (summed over the size buckets).</summary>
    private Task<string> StubSummaryAsync(PlanningWorld world) => fixture.Database.ScalarAsync<string>(
        $"SELECT sum(stub_files) || '/' || sum(stub_bytes) FROM alto.capacity_summary WHERE host_id = '{world.HostId}' AND dimension = 'size'");

    [Fact]
    public async Task IllegalMovesAreRefusedAndChangeNothing()
    {
        var (world, ids) = await PlannedObjectsAsync();
        var id = ids[0];

        var outcomes = await Ledger.ApplyAsync(world.HostId,
            [new TierChange(id, new TierEvent(TierEventKind.Stubbed, "agent", Sha, "x/" + Sha)), new TierChange(id, new TierEvent(TierEventKind.Recalled, "agent"))],
            CancellationToken.None);

        Assert.All(outcomes, outcome => Assert.Contains("Illegal tier transition", outcome.Refusal, StringComparison.Ordinal));
        Assert.Equal(TierState.Planned, (await Ledger.GetAsync(id, CancellationToken.None))!.State);
        Assert.Equal(0, await AuditCountAsync(id));
    }

    [Fact]
    public async Task AFailureCountsAnAttemptAndSchedulesTheRetry()
    {
        var (world, ids) = await PlannedObjectsAsync();
        var id = ids[0];
        await ApplyOneAsync(world, id, new TierEvent(TierEventKind.Dispatched, "host"));

        var failed = await ApplyOneAsync(world, id, new TierEvent(TierEventKind.Failed, "agent", Reason: "hash mismatch; the original is kept"));

        Assert.Equal((TierState.Failed, 1, "hash mismatch; the original is kept"), (failed.State, failed.Attempts, failed.LastError));
        Assert.True(failed.NextAttemptAt > DateTimeOffset.UtcNow);
        Assert.Equal("tiering", await fixture.Database.ScalarAsync<string>($"SELECT failed_during FROM alto.tier_object WHERE id = {id}"));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE object_id = '{id}' AND action = 'tier.failed' AND outcome = 'failure'"));
    }

    [Fact]
    public async Task ABatchMovesEachObjectOnItsOwnAndRefusesWhatIsNotTheHostsOrNotThere()
    {
        var (world, ids) = await PlannedObjectsAsync(3);
        var (_, foreign) = await PlannedObjectsAsync(1);
        var dispatched = new TierEvent(TierEventKind.Dispatched, "host:test");
        await Ledger.ApplyAsync(world.HostId, [.. ids.Select(id => new TierChange(id, dispatched))], CancellationToken.None);

        var outcomes = await Ledger.ApplyAsync(world.HostId,
        [
            new TierChange(ids[0], new TierEvent(TierEventKind.Stubbed, "agent", Sha, "t/" + Sha) { ReportId = "r1" }),
            new TierChange(ids[1], new TierEvent(TierEventKind.Failed, "agent", Reason: "tier 2 refused the write") { ReportId = "r1" }),
            new TierChange(ids[2], new TierEvent(TierEventKind.Recalled, "agent") { ReportId = "r1" }),
            new TierChange(foreign[0], new TierEvent(TierEventKind.Dispatched, "agent") { ReportId = "r1" }),
            new TierChange(long.MaxValue, new TierEvent(TierEventKind.Dispatched, "agent") { ReportId = "r1" }),
        ], CancellationToken.None);

        Assert.Equal([true, true, false, false, false], outcomes.Select(outcome => outcome.Applied));
        Assert.Contains($"not a file of host {world.HostId}", outcomes[3].Refusal, StringComparison.Ordinal);
        Assert.Contains("not found", outcomes[4].Refusal, StringComparison.Ordinal);
        Assert.Equal(["STUBBED", "FAILED", "DISPATCHED"], await Task.WhenAll(ids.Select(id =>
            fixture.Database.ScalarAsync<string>($"SELECT state FROM alto.tier_object WHERE id = {id}"))));
        Assert.Equal("PLANNED", await fixture.Database.ScalarAsync<string>($"SELECT state FROM alto.tier_object WHERE id = {foreign[0]}"));
        Assert.Equal(0, await AuditCountAsync(foreign[0]));

        // The same report again (the agent did not hear the answer) is no change.
        var audited = await AuditCountAsync(ids[1]);
        await Ledger.ApplyAsync(world.HostId, [new TierChange(ids[1], new TierEvent(TierEventKind.Failed, "agent", Reason: "again") { ReportId = "r1" })], CancellationToken.None);
        Assert.Equal(audited, await AuditCountAsync(ids[1]));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT attempts FROM alto.tier_object WHERE id = {ids[1]}"));
    }
}
