using Alto.GrainInterfaces.Scans;
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
        await fixture.Database.ExecuteAsync($"""
            INSERT INTO alto.tenant (id, name) VALUES ('{tenant}', 'stream-{tenant:N}');
            INSERT INTO alto.host (id, tenant_id, name, volumes) VALUES ('{host}', '{tenant}', 'fs01', ARRAY['/srv']);
            INSERT INTO alto.scan (tenant_id, host_id, scan_uid, status, chunk_count, final_chunk_no, roots)
            VALUES ('{tenant}', '{host}', gen_random_uuid(), 'queued', 1, 0, ARRAY['/srv']);
            SELECT scan_staging.ensure_partition('{tenant}', current_date);
            INSERT INTO scan_staging.raw_scans (tenant_id, scan_date, host_id, scan_id, chunk_no, row_no, file_path, file_size,
                                                last_modified, last_accessed, file_extension, permissions, owner, file_id)
            SELECT '{tenant}', current_date, '{host}', (SELECT id FROM alto.scan WHERE host_id = '{host}'), 0, i,
                   '/srv/a/f' || i || '.txt', 100, now(), now(), '.txt', 'rw-r--r--', 'root', i
            FROM generate_series(1, 25) i;
            """);
        var scanId = await fixture.Database.CountAsync($"SELECT id FROM alto.scan WHERE host_id = '{host}'");

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
        await fixture.Database.ExecuteAsync($"""
            INSERT INTO alto.tenant (id, name) VALUES ('{tenant}', 'twice-{tenant:N}');
            INSERT INTO alto.host (id, tenant_id, name) VALUES ('{host}', '{tenant}', 'fs01');
            INSERT INTO alto.scan (tenant_id, host_id, scan_uid, status, chunk_count, final_chunk_no, roots)
            VALUES ('{tenant}', '{host}', gen_random_uuid(), 'queued', 1, 0, ARRAY['/srv']);
            SELECT scan_staging.ensure_partition('{tenant}', current_date);
            INSERT INTO scan_staging.raw_scans (tenant_id, scan_date, host_id, scan_id, chunk_no, row_no, file_path, file_size,
                                                last_modified, last_accessed)
            SELECT '{tenant}', current_date, '{host}', (SELECT id FROM alto.scan WHERE host_id = '{host}'), 0, i,
                   '/srv/f' || i, 1, now(), now()
            FROM generate_series(1, 1000) i;
            """);
        var scanId = await fixture.Database.CountAsync($"SELECT id FROM alto.scan WHERE host_id = '{host}'");
        var grain = fixture.Client.GetGrain<IScanIngestGrain>(scanId);

        await Task.WhenAll(grain.StartAsync(), grain.StartAsync(), grain.StartAsync());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE id = {scanId}") != "completed")
        {
            Assert.True(DateTime.UtcNow < deadline, "ingest did not complete");
            await Task.Delay(50);
        }
        await grain.StartAsync();

        Assert.Equal(1000, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{host}'"));
        Assert.Equal(1000, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.file WHERE scan_id = {scanId}"));
    }
}
