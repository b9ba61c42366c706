using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Alto.TestSupport;
using Npgsql;
using Orleans.TestingHost;
using static Alto.TestSupport.PlanningWorld;

namespace Alto.Grains.Tests.Trail;

/// <summary>
/// Staged LucidLink trail batches applied by the host grains of a real two-silo cluster while the
/// database misbehaves on purpose: a statement cancelled under a batch (as a command timeout or an
/// operator does) leaves the batch pending, counted and logged, and the host tries again by itself;
/// and however many hosts have batches staged, a silo applies only its configured number at once.
/// </summary>
public sealed class TrailOutageTests : IAsyncLifetime, IDisposable
{
    private const short Silos = 2;
    private const string FailureCounter = "alto.inventory.work_failed";

    /// <summary>Trail statements of batches being applied that wait for a file row someone else holds.</summary>
    private const string WaitingTrailStatements = """
        FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%audit_update_staging%'
        """;

    private Task<long> CountWaitingAsync() => _database.CountAsync($"SELECT count(*) {WaitingTrailStatements}");

    private TestDatabase _database = null!;
    private TestCluster _cluster = null!;
    private readonly ConcurrentDictionary<string, long> _failuresByTenant = new();
    private readonly MeterListener _failures = new();

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync("trail-outage");
        await _database.MigrateAsync();
        _cluster = await AltoTestCluster.StartAsync(_database, Silos, settings: new Dictionary<string, string?>
        {
            ["Alto:Trail:MaxConcurrentBatches"] = "1",
            ["Alto:Trail:RetryAfter"] = "00:00:00.500",
        });
        _failures.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == FailureCounter)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _failures.SetMeasurementEventCallback<long>((_, count, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "tenant" && tag.Value is string tenant)
                {
                    _failuresByTenant.AddOrUpdate(tenant, count, (_, sum) => sum + count);
                }
            }
        });
        _failures.Start();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _database.DisposeAsync();
    }

    public void Dispose() => _failures.Dispose();

    [Fact]
    public async Task ACancelledTrailStatementLeavesItsBatchPendingAndTheHostTriesAgainByItself()
    {
        var world = await PlanningWorld.CreateAsync(_cluster.Client, _database);
        await world.AddFilesAsync(Files(world.HostId, 20));
        var read = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60;
        var batchId = await StageReadsAsync(world, world.HostId, read);

        var holder = await HoldFilesAsync(world.HostId);
        try
        {
            await world.Inventory.TrailUpdatesStagedAsync();
            await Eventually.WaitAsync(async () => await CountWaitingAsync() == 1, "the batch never reached the held files");

            // Cut the statement short, as a command timeout or an operator's pg_cancel_backend does.
            Assert.Equal(1, await _database.CountAsync($"SELECT count(*) FROM (SELECT pg_cancel_backend(pid) {WaitingTrailStatements}) c"));

            await Eventually.WaitAsync(() => Task.FromResult(_failuresByTenant.GetValueOrDefault(world.TenantId.ToString()) >= 1), "the failure was not counted");
            // Not set aside as refused: still pending, nothing failed, nothing applied.
            Assert.Equal(1, await _database.CountAsync($"SELECT count(*) FROM alto.audit_update_batch WHERE id = '{batchId}' AND applied_at IS NULL AND failed_at IS NULL"));
            // With no further request, scan or schedule, the host tries again (and waits for the held files once more).
            await Eventually.WaitAsync(async () => await CountWaitingAsync() == 1, "the host never tried again by itself");
        }
        finally
        {
            await ReleaseAsync(holder);
        }

        await Eventually.WaitAsync(async () => await _database.CountAsync(
            $"SELECT count(*) FROM alto.audit_update_batch WHERE id = '{batchId}' AND applied_at IS NOT NULL") == 1, "the batch was never applied");
        Assert.Equal(20, await _database.CountAsync(
            $"SELECT count(*) FROM alto.file_current WHERE host_id = '{world.HostId}' AND atime_unix = {read} AND last_accessed_source = 'lucidlink_audit'"));
        Assert.Equal(0, await _database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'inventory.trail_batch_failed' AND tenant_id = '{world.TenantId}'"));
    }

    [Fact]
    public async Task HowEverManyHostsHaveBatchesStagedASiloAppliesOnlyItsSlotsWorthAtOnce()
    {
        const int Hosts = 4;
        const int BatchesPerHost = 2;
        var world = await PlanningWorld.CreateAsync(_cluster.Client, _database);
        var hosts = new List<Guid> { world.HostId };
        for (var i = 1; i < Hosts; i++)
        {
            var hostId = Guid.NewGuid();
            await world.AddHostAsync(hostId);
            hosts.Add(hostId);
        }
        var read = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60;
        var holders = new List<NpgsqlTransaction>();
        foreach (var hostId in hosts)
        {
            await world.AddFilesAsync(Files(hostId, 5), hostId);
            for (var batch = 0; batch < BatchesPerHost; batch++)
            {
                await StageReadsAsync(world, hostId, read - batch);
            }
            holders.Add(await HoldFilesAsync(hostId));
        }

        // Every host's grain starts at once; each would apply two batches of reads side by side (eight statements) without the silos' bound.
        await Task.WhenAll(hosts.Select(hostId => _cluster.Client.GetGrain<GrainInterfaces.Hosts.IHostInventoryGrain>(hostId.ToString()).TrailUpdatesStagedAsync()));
        await Eventually.WaitAsync(async () => await CountWaitingAsync() >= 1, "no batch reached the held files");
        var mostAtOnce = 0L;
        for (var sample = 0; sample < 40; sample++)
        {
            mostAtOnce = Math.Max(mostAtOnce, await CountWaitingAsync());
            await Task.Delay(50);
        }
        Assert.InRange(mostAtOnce, 1, Silos);

        foreach (var holder in holders)
        {
            await ReleaseAsync(holder);
        }
        await Eventually.WaitAsync(async () => await _database.CountAsync(
            $"SELECT count(*) FROM alto.audit_update_batch WHERE tenant_id = '{world.TenantId}' AND applied_at IS NOT NULL") == Hosts * BatchesPerHost,
            "not every batch was applied once the files were free");
        Assert.Equal(Hosts * 5, await _database.CountAsync(
            $"SELECT count(*) FROM alto.file_current WHERE tenant_id = '{world.TenantId}' AND atime_unix = {read}"));
    }

    [Fact]
    public void AHostThatKeepsFailingWaitsTwiceAsLongEachTimeUpToAMinute()
    {
        var options = new Alto.Grains.Trail.TrailOptions { RetryAfter = TimeSpan.FromSeconds(5) };

        Assert.Equal([5, 10, 20, 40, 60, 60], Enumerable.Range(1, 6).Select(failures => options.RetryWait(failures).TotalSeconds));
        Assert.Equal(TimeSpan.FromMinutes(1), options.RetryWait(10_000));
    }

    private static List<InventoryFile> Files(Guid hostId, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new InventoryFile($"/srv/{hostId:N}/f{i}.dat", 1000 + i, 90 * Day, 400 * Day))];

    /// <summary>Stages a batch that reads every file of the host at <paramref name="at"/>, as the gateway stages an agent's batch.</summary>
    private async Task<Guid> StageReadsAsync(PlanningWorld world, Guid hostId, long at)
    {
        var batchId = Guid.NewGuid();
        await _database.ExecuteAsync($"""
            INSERT INTO alto.audit_update_batch (id, tenant_id, host_id, source, update_count)
            SELECT '{batchId}', '{world.TenantId}', '{hostId}', 'lucidlink_audit', count(*) FROM alto.file_current WHERE host_id = '{hostId}';
            INSERT INTO alto.audit_update_staging (batch_id, seq, full_path, kind, at_unix)
            SELECT '{batchId}', row_number() OVER (ORDER BY full_path), full_path, 'read', {at} FROM alto.file_current WHERE host_id = '{hostId}';
            """);
        return batchId;
    }

    /// <summary>Another writer holding every file row of the host (as a long merge does) until it is rolled back.</summary>
    private async Task<NpgsqlTransaction> HoldFilesAsync(Guid hostId)
    {
        var connection = await _database.DataSource.OpenConnectionAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var hold = new NpgsqlCommand($"SELECT 1 FROM alto.file_current WHERE host_id = '{hostId}' FOR UPDATE", connection, transaction);
        await hold.ExecuteNonQueryAsync();
        return transaction;
    }

    private static async Task ReleaseAsync(NpgsqlTransaction holder)
    {
        var connection = holder.Connection!;
        await holder.RollbackAsync();
        await holder.DisposeAsync();
        await connection.DisposeAsync();
    }
}
