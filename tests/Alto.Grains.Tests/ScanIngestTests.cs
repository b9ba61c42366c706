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
}
