using Alto.Grains.Scans;
using Alto.TestSupport;

namespace Alto.Grains.Tests;

[Collection(PostgresClusterCollection.Name)]
public sealed class ExpiredScansTests(PostgresClusterFixture fixture)
{
    [Fact]
    public async Task AQueuedScanPastTheRetentionIsFailedAuditedAndNeverMerged()
    {
        var tenant = Guid.NewGuid();
        var host = Guid.NewGuid();
        var scanId = await fixture.Database.StageQueuedScanAsync(tenant, host, 20);
        // Started nine days ago: its staged rows go with the retention of seven.
        await fixture.Database.ExecuteAsync($"UPDATE alto.scan SET started_at = now() - interval '9 days' WHERE id = {scanId}");

        var expired = await new ExpiredScans(fixture.Database.DataSource).FailAsync(7, CancellationToken.None);

        var mine = Assert.Single(expired, scan => scan.HostId == host);
        Assert.Equal((scanId, tenant, "queued"), (mine.ScanId, mine.TenantId, mine.Was));
        Assert.Equal("failed", await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE id = {scanId}"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE host_id = '{host}' AND action = 'scan.expired' AND outcome = 'failure' AND details->>'status' = 'queued'"));

        // An ingest asked for afterwards merges nothing: the inventory stays as it was.
        await fixture.Client.GetGrain<GrainInterfaces.Scans.IScanIngestGrain>(scanId).StartAsync();
        await Task.Delay(500);
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{host}'"));
        Assert.Equal("failed", await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE id = {scanId}"));
    }
}
