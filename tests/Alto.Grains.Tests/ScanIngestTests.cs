using Alto.GrainInterfaces.Scans;
using Alto.TestSupport;
using Orleans.Streams;

namespace Alto.Grains.Tests;

[Collection(PostgresClusterCollection.Name)]
public sealed class ScanIngestTests(PostgresClusterFixture fixture)
{
    [Fact]
    public async Task ACompletedIngestIsPublishedOnTheHostsScanCompletedStream()
    {
        var tenant = Guid.NewGuid();
        var host = Guid.NewGuid();
        var scanId = await fixture.Database.StageQueuedScanAsync(tenant, host, 25);

        var received = new TaskCompletionSource<ScanCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stream = fixture.Client.GetStreamProvider(StreamNames.Provider)
            .GetStream<ScanCompleted>(StreamId.Create(StreamNames.ScanCompleted, host));
        var subscription = await stream.SubscribeAsync((completed, _) =>
        {
            received.TrySetResult(completed);
            return Task.CompletedTask;
        });
        try
        {
            await fixture.Client.GetGrain<IScanIngestGrain>(scanId).StartAsync();
            var completed = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal((scanId, tenant, host, 25L, 25L, 0L),
                (completed.ScanId, completed.TenantId, completed.HostId, completed.FilesSeen, completed.FilesChanged, completed.FilesDeleted));
            Assert.Equal("completed", await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE id = {scanId}"));
        }
        finally
        {
            await subscription.UnsubscribeAsync();
        }
    }

    [Fact]
    public async Task StartingTheSameIngestTwiceMergesOnce()
    {
        var tenant = Guid.NewGuid();
        var host = Guid.NewGuid();
        var scanId = await fixture.Database.StageQueuedScanAsync(tenant, host, 1000);
        var grain = fixture.Client.GetGrain<IScanIngestGrain>(scanId);

        await Task.WhenAll(grain.StartAsync(), grain.StartAsync(), grain.StartAsync());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE id = {scanId}") != "completed")
        {
            Assert.True(DateTime.UtcNow < deadline, "ingest did not complete");
            await Task.Delay(50);
        }
        await grain.StartAsync();

        Assert.Equal(1000, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{host}' AND first_seen_scan_id = {scanId}"));
        // A second merge would have found every file known: no version was superseded, so no history.
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.file f JOIN alto.file_current c USING (file_current_id) WHERE c.host_id = '{host}'"));
    }

    [Fact]
    public async Task AMergeWhoseStatementIsCancelledStaysQueuedAndCompletesWhenTriedAgain()
    {
        var tenant = Guid.NewGuid();
        var host = Guid.NewGuid();
        var scanId = await fixture.Database.StageQueuedScanAsync(tenant, host, 40);
        var grain = fixture.Client.GetGrain<IScanIngestGrain>(scanId);

        // Another merge of the host holds its lock, so this one waits where it can be cancelled.
        await using (var holder = await fixture.Database.DataSource.OpenConnectionAsync())
        {
            await using var transaction = await holder.BeginTransactionAsync();
            await using (var hold = new Npgsql.NpgsqlCommand($"SELECT pg_advisory_xact_lock(hashtext('{host}'))", holder, transaction))
            {
                await hold.ExecuteNonQueryAsync();
            }
            await grain.StartAsync();
            const string Waiting = """
                FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE '%pg_advisory_xact_lock%'
                """;
            await Eventually.WaitAsync(async () => await fixture.Database.CountAsync($"SELECT count(*) {Waiting}") == 1, "the merge never waited for the host's lock");

            // Cut short as a statement timeout or an operator's pg_cancel_backend does: the moment's failure, not the scan's.
            Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM (SELECT pg_cancel_backend(pid) {Waiting}) c"));
            await Eventually.WaitAsync(async () => await fixture.Database.CountAsync($"SELECT count(*) {Waiting}") == 0, "the cancelled statement lingered");
            await Task.Delay(500);
            Assert.Equal("queued", await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE id = {scanId}"));
        }

        // What the retry reminder does a minute later.
        await grain.StartAsync();
        await Eventually.WaitAsync(async () => await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE id = {scanId}") == "completed",
            "the merge did not complete when tried again");
        Assert.Equal(40, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{host}'"));
    }

    [Fact]
    public async Task ABigScanWhoseStagedPartitionWasNeverAnalyzedIsPlannedFromFreshStatistics()
    {
        var tenant = Guid.NewGuid();
        var host = Guid.NewGuid();
        const int Files = 30_000;
        await NeverAnalyzedPartitionAsync(tenant);
        var scanId = await fixture.Database.StageQueuedScanAsync(tenant, host, Files);
        // As the bench saw it: three equality conditions the planner cannot weigh, so 30,000 rows are planned as one.
        Assert.True(await EstimateAsync(tenant, scanId) < Files / 10, "the staged partition's statistics were not stale to begin with");

        await MergeAsync(scanId);

        Assert.InRange(await EstimateAsync(tenant, scanId), Files / 2, Files * 2);
        Assert.Equal(Files, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{host}'"));
    }

    [Fact]
    public async Task ASmallScanIsMergedWithoutAnalyzingItsStagedPartition()
    {
        var tenant = Guid.NewGuid();
        var host = Guid.NewGuid();
        const int Files = (int)Alto.Grains.Scans.InventoryMerge.StatisticsFromRows / 2;
        await NeverAnalyzedPartitionAsync(tenant);
        var scanId = await fixture.Database.StageQueuedScanAsync(tenant, host, Files);

        await MergeAsync(scanId);

        // Read by its index whatever the estimate: an ANALYZE would cost more than it saves.
        Assert.Equal(-1, await fixture.Database.ScalarAsync<float>($"""
            SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'scan_staging' AND c.relname LIKE 'raw_scans\_{tenant:N}\_%'
            """));
        Assert.Equal(Files, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{host}'"));
    }

    /// <summary>Makes the tenant's staged partition for today, kept from autovacuum so that nothing but the merge analyzes it.</summary>
    private Task NeverAnalyzedPartitionAsync(Guid tenant) => fixture.Database.ExecuteAsync($"""
        SELECT scan_staging.ensure_partition('{tenant}', current_date);
        DO $$ BEGIN
            EXECUTE format('ALTER TABLE scan_staging.%I SET (autovacuum_enabled = off)', 'raw_scans_{tenant:N}_' || to_char(current_date, 'YYYYMMDD'));
        END $$;
        """);

    /// <summary>The planner's estimate of the scan's staged rows, asked as the merge asks.</summary>
    private async Task<long> EstimateAsync(Guid tenant, long scanId)
    {
        var plan = await fixture.Database.ScalarAsync<string>($"""
            EXPLAIN (FORMAT JSON) SELECT 1 FROM scan_staging.raw_scans WHERE tenant_id = '{tenant}' AND scan_date = current_date AND scan_id = {scanId}
            """);
        using var json = System.Text.Json.JsonDocument.Parse(plan);
        return (long)json.RootElement[0].GetProperty("Plan").GetProperty("Plan Rows").GetDouble();
    }

    private async Task MergeAsync(long scanId)
    {
        await fixture.Client.GetGrain<IScanIngestGrain>(scanId).StartAsync();
        await Eventually.WaitAsync(async () => await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE id = {scanId}") == "completed",
            "the merge did not complete", TimeSpan.FromMinutes(1));
    }
}
