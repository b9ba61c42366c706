using Alto.Grains.Trail;
using Alto.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Alto.Grains.Tests.Trail;

/// <summary>
/// A host's backlog of LucidLink trail batches, applied by the real applier on PostgreSQL: batches
/// of reads side by side must end exactly as one at a time would, a batch of any other kind keeps
/// its place in the order, and a deadlock between two writers of the same files costs a retry, not
/// the batch.
/// </summary>
public sealed class TrailBacklogTests : IAsyncLifetime
{
    private const long Day = 86_400;
    private const long Then = 1_700_000_000;

    private TestDatabase _database = null!;
    private readonly Guid _tenantId = Guid.NewGuid();

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync("trail-backlog");
        await _database.MigrateAsync();
        await _database.ExecuteAsync($"INSERT INTO alto.tenant (id, name) VALUES ('{_tenantId}', 'trail')");
    }

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public void ConsecutiveBatchesOfReadsFormOneRunAndEveryOtherBatchARunOfItsOwn()
    {
        PendingTrailBatch Read() => new(Guid.NewGuid(), ReadsOnly: true);
        PendingTrailBatch Other() => new(Guid.NewGuid(), ReadsOnly: false);
        PendingTrailBatch[] pending = [Read(), Read(), Other(), Read(), Other(), Other(), Read(), Read(), Read()];

        var runs = TrailBacklog.Runs(pending).ToArray();

        Assert.Equal([2, 1, 1, 1, 1, 3], runs.Select(run => run.Length));
        Assert.Equal(pending, runs.SelectMany(run => run));
    }

    [Fact]
    public async Task ReadBatchesAppliedSideBySideEndExactlyAsAppliedOneAtATime()
    {
        // The same inventory and the same trail for two hosts: one applies a batch at a time, the other four at once.
        var one = await CreateHostAsync("one-at-a-time", files: 300, stubs: 60);
        var four = await CreateHostAsync("four-at-once", files: 300, stubs: 60);
        var random = new Random(21);
        for (var batch = 0; batch < 12; batch++)
        {
            // Overlapping reads: the same files again and again, at times in any order over ten days, and some paths no scan saw.
            var reads = Enumerable.Range(0, 400)
                .Select(_ => random.Next(0, 330))
                .Select(file => (Path: $"/fs/d{file % 5}/f{file}", At: Then + random.Next(0, (int)(10 * Day))))
                .ToArray();
            await StageAsync(one, batch, reads);
            await StageAsync(four, batch, reads);
        }

        var serial = await ApplyBacklogAsync(one, atOnce: 1);
        var sideBySide = await ApplyBacklogAsync(four, atOnce: 4);

        Assert.Equal(12 * 400, serial.Applied + serial.Unknown + serial.Stale);
        Assert.Equal(12 * 400, sideBySide.Applied + sideBySide.Unknown + sideBySide.Stale);
        Assert.Equal(serial.Unknown, sideBySide.Unknown);
        Assert.True(sideBySide.Applied > 0);
        Assert.Equal(await StateAsync(one), await StateAsync(four));
        Assert.Equal(0, await _database.CountAsync($"SELECT count(*) FROM alto.audit_update_batch WHERE host_id IN ('{one}', '{four}') AND applied_at IS NULL"));
        Assert.Equal(24, await _database.CountAsync("SELECT count(*) FROM alto.audit_log WHERE action = 'inventory.audit_updates_applied'"));
    }

    [Fact]
    public async Task AReadAfterAMoveWaitsForTheMoveAndFindsTheFileAtItsNewPath()
    {
        var host = await CreateHostAsync("moves", files: 10, stubs: 0);
        await StageAsync(host, 0, [("/fs/d1/f1", Then + Day)]);
        await StageAsync(host, 1, [("/fs/d2/f2", Then + Day)]);
        await StageAsync(host, 2, [("/fs/d1/f1", Then + 2 * Day)], kind: "move", target: "/fs/d9/moved");
        await StageAsync(host, 3, [("/fs/d9/moved", Then + 3 * Day)]);
        await StageAsync(host, 4, [("/fs/d3/f3", Then + 3 * Day)]);

        var outcome = await ApplyBacklogAsync(host, atOnce: 8);

        Assert.Equal(0, outcome.Unknown);
        Assert.Equal(Then + 3 * Day, await _database.ScalarAsync<long>(
            $"SELECT atime_unix FROM alto.file_current WHERE host_id = '{host}' AND full_path = '/fs/d9/moved'"));
    }

    [Fact]
    public async Task ABatchTheDatabaseEndsToBreakADeadlockIsAppliedWhenTriedAgain()
    {
        var host = await CreateHostAsync("deadlock", files: 2, stubs: 0);
        var ids = await IdsAsync(host);
        await StageAsync(host, 0, [("/fs/d0/f0", Then + 3 * Day), ("/fs/d1/f1", Then + 3 * Day)]);
        var batchId = BatchId(host, 0);

        // Another writer holds the file the batch writes second (the batch writes in id order)...
        await using var other = await _database.DataSource.OpenConnectionAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand($"SELECT 1 FROM alto.file_current WHERE file_current_id = {ids.Max()} FOR UPDATE", other, transaction))
        {
            await hold.ExecuteNonQueryAsync();
        }
        var log = new FakeLogger<TrailUpdateApplier>();
        var applying = new TrailUpdateApplier(_database.DataSource, log).ApplyAsync(batchId, host, CancellationToken.None);
        await WaitForLockWaitAsync(applying);
        // ...and then waits for the one the batch holds: a deadlock, which the batch (waiting longer) is the one to detect.
        await using (var cross = new NpgsqlCommand($"UPDATE alto.file_current SET updated_utc = now() WHERE file_current_id = {ids.Min()}", other, transaction))
        {
            await cross.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();

        var outcome = await applying.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, outcome.Applied);
        Assert.Equal(2, await _database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{host}' AND atime_unix = {Then + 3 * Day}"));
        Assert.Equal(1, await _database.CountAsync($"SELECT count(*) FROM alto.audit_update_batch WHERE id = '{batchId}' AND applied = 2"));
        // The retry is not silent: the log names the batch, its host and the attempt.
        var retried = Assert.Single(log.Collector.GetSnapshot(), entry => entry.Message.Contains("deadlock", StringComparison.Ordinal));
        Assert.Contains(batchId.ToString(), retried.Message, StringComparison.Ordinal);
        Assert.Contains(host.ToString(), retried.Message, StringComparison.Ordinal);
        Assert.Contains("attempt 1 of 3", retried.Message, StringComparison.Ordinal);
    }

    private async Task<Guid> CreateHostAsync(string name, int files, int stubs)
    {
        var host = Guid.NewGuid();
        await _database.ExecuteAsync($"""
            INSERT INTO alto.host (id, tenant_id, name) VALUES ('{host}', '{_tenantId}', '{name}');
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, is_stub, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT '{_tenantId}', '{host}', i % 5, 'f' || i, '/fs/d' || (i % 5) || '/f' || i, 1000 + i, {Then} + (i % 7) * {Day}, {Then}, {Then},
                   '', i < {stubs}, 0, 0, now()
            FROM generate_series(0, {files - 1}) AS i;
            INSERT INTO alto.tier_object (tenant_id, host_id, file_current_id, full_path, state, size_bytes)
            SELECT tenant_id, host_id, file_current_id, full_path, 'STUBBED', size_bytes FROM alto.file_current WHERE host_id = '{host}' AND is_stub;
            """);
        return host;
    }

    /// <summary>A batch id that says which host and which place in the order it has.</summary>
    private static Guid BatchId(Guid host, int order) => new($"{host.ToString()[..24]}{order:x12}");

    private async Task StageAsync(Guid host, int order, (string Path, long At)[] updates, string kind = "read", string? target = null)
    {
        var batchId = BatchId(host, order);
        var rows = string.Join(",\n", updates.Select((update, seq) =>
            $"('{batchId}', {seq}, '{update.Path}', '{kind}', {update.At}, {(target is null ? "NULL" : $"'{target}'")})"));
        await _database.ExecuteAsync($"""
            INSERT INTO alto.audit_update_batch (id, tenant_id, host_id, source, update_count, received_at)
            VALUES ('{batchId}', '{_tenantId}', '{host}', 'lucidlink_audit', {updates.Length}, now() + interval '{order} seconds');
            INSERT INTO alto.audit_update_staging (batch_id, seq, full_path, kind, at_unix, target_path) VALUES {rows};
            """);
    }

    private async Task<TrailUpdateOutcome> ApplyBacklogAsync(Guid host, int atOnce)
    {
        var applier = new TrailUpdateApplier(_database.DataSource, NullLogger<TrailUpdateApplier>.Instance);
        var backlog = new TrailBacklog(applier, Options.Create(new TrailOptions { ReadBatchesAtOnce = atOnce }));
        var (applied, unknown, stale) = (0, 0, 0);
        await backlog.ApplyAsync(host, async batchId =>
        {
            var outcome = await applier.ApplyAsync(batchId, host, CancellationToken.None);
            Interlocked.Add(ref applied, outcome.Applied);
            Interlocked.Add(ref unknown, outcome.Unknown);
            Interlocked.Add(ref stale, outcome.Stale);
        }, CancellationToken.None);
        return new TrailUpdateOutcome(applied, unknown, stale, 0, AlreadyApplied: false);
    }

    private async Task<long[]> IdsAsync(Guid host)
    {
        await using var command = _database.DataSource.CreateCommand($"SELECT file_current_id FROM alto.file_current WHERE host_id = '{host}' ORDER BY 1");
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<long>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetInt64(0));
        }
        return [.. ids];
    }

    /// <summary>What the trail leaves of a host, by path: access times and their source, warming, and the capacity summaries.</summary>
    private async Task<string[]> StateAsync(Guid host)
    {
        await using var command = _database.DataSource.CreateCommand($"""
            SELECT 'file ' || full_path || ' ' || atime_unix || ' ' || last_accessed_source FROM alto.file_current WHERE host_id = $1
            UNION ALL
            SELECT 'object ' || full_path || ' ' || access_count || ' ' || coalesce(last_accessed_utc::text, '') FROM alto.tier_object WHERE host_id = $1
            UNION ALL
            SELECT 'summary ' || dimension || ' ' || key || ' ' || files || ' ' || bytes || ' ' || stub_files || ' ' || stub_bytes
            FROM alto.capacity_summary WHERE host_id = $1 AND (files <> 0 OR bytes <> 0)
            ORDER BY 1
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = host });
        await using var reader = await command.ExecuteReaderAsync();
        var lines = new List<string>();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0));
        }
        return [.. lines];
    }

    /// <summary>Until the batch waits for a row lock (or has ended, which the caller then sees).</summary>
    private async Task WaitForLockWaitAsync(Task applying)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!applying.IsCompleted && await _database.CountAsync(
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the batch never waited for the held file");
            await Task.Delay(20);
        }
    }
}
