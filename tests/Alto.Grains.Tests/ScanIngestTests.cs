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
}
