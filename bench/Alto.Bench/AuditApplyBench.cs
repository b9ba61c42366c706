using System.Diagnostics;
using Alto.Grains.Trail;
using Alto.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Alto.Bench;

/// <summary>
/// bench/run.sh audit (server half): 100,000 read updates for a host with 1,000,000 inventory
/// files, staged as ten batches of 10,000 and applied by the real applier as a host's backlog is
/// (atime only when newer, warming, counts, an audit entry per batch; reads side by side).
/// Baseline: one raw UPDATE of the same files' atime from the same staged rows. Then as many reads
/// of other files applied right after a checkpoint (each page's first change writes its full image).
/// </summary>
public static class AuditApplyBench
{
    private const int Files = 1_000_000;
    private const int Updates = 100_000;
    private const int PerBatch = 10_000;

    public static async Task<Dictionary<string, object>> RunAsync()
    {
        await using var database = await TestDatabase.CreateAsync("bench_audit");
        await database.MigrateAsync();
        var tenantId = Guid.NewGuid();
        var hostId = Guid.NewGuid();
        await database.ExecuteAsync($"""
            INSERT INTO alto.tenant (id, name) VALUES ('{tenantId}', 'bench');
            INSERT INTO alto.host (id, tenant_id, name) VALUES ('{hostId}', '{tenantId}', 'lucid');
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT '{tenantId}', '{hostId}', 0, 'f' || i || '.dat', '/lucid/p' || (i % 2000) || '/d' || (i % 50) || '/f' || i || '.dat',
                   1000, 1700000000, 1700000000, 1700000000, 'dat', 0, 0, now()
            FROM generate_series(1, {Files}) AS i;
            ANALYZE alto.file_current;
            """);
        // As the host's inventory grain applies a backlog: batches of reads side by side, at the default setting.
        var applier = new TrailUpdateApplier(database.DataSource, NullLogger<TrailUpdateApplier>.Instance);
        var options = new TrailOptions();
        var (alto, applied) = await StageAndApplyAsync(database, applier, options, tenantId, hostId, everyTenthFrom: 1);

        // Baseline: the bare update, on the same rows made older again.
        // Only the rows read are made older again: all million rows once took past the command timeout on a slow disk.
        await database.ExecuteAsync($"UPDATE alto.file_current SET atime_unix = 1700000000 WHERE host_id = '{hostId}' AND atime_unix <> 1700000000");
        var clock = Stopwatch.StartNew();
        await database.ExecuteAsync($"""
            UPDATE alto.file_current f SET atime_unix = s.at_unix
            FROM alto.audit_update_staging s
            WHERE f.tenant_id = '{tenantId}' AND f.host_id = '{hostId}' AND f.full_path = s.full_path AND NOT f.path_escaped AND s.at_unix > f.atime_unix
            """);
        var baseline = clock.Elapsed;

        // The same again on other files right after a checkpoint, as an inventory written long ago
        // is updated: each page's first change after a checkpoint writes its full image to the WAL.
        await database.ExecuteAsync("CHECKPOINT");
        var (afterCheckpoint, appliedAfterCheckpoint) = await StageAndApplyAsync(database, applier, options, tenantId, hostId, everyTenthFrom: 2);
        if (applied != Updates || appliedAfterCheckpoint != Updates)
        {
            throw new InvalidOperationException($"{applied} and {appliedAfterCheckpoint} of {Updates} updates applied");
        }
        return new Dictionary<string, object>
        {
            ["server_inventory_files"] = Files,
            ["server_updates"] = Updates,
            ["server_alto_apply_seconds"] = Math.Round(alto.TotalSeconds, 3),
            ["server_alto_apply_after_checkpoint_seconds"] = Math.Round(afterCheckpoint.TotalSeconds, 3),
            ["server_read_batches_at_once"] = options.ReadBatchesAtOnce,
            ["server_baseline"] = "one raw UPDATE ... FROM the staged rows",
            ["server_baseline_seconds"] = Math.Round(baseline.TotalSeconds, 3),
            ["server_goal_seconds"] = 1.0,
        };
    }

    /// <summary>
    /// Stages the updates as ten batches of reads of every tenth file, starting at file
    /// <paramref name="everyTenthFrom"/> (spread over the whole inventory; times newer than the
    /// inventory's), and applies them as the host's backlog; returns the apply's time and how many were applied.
    /// </summary>
    private static async Task<(TimeSpan Elapsed, int Applied)> StageAndApplyAsync(
        TestDatabase database, TrailUpdateApplier applier, TrailOptions options, Guid tenantId, Guid hostId, int everyTenthFrom)
    {
        for (var b = 0; b < Updates / PerBatch; b++)
        {
            var batchId = Guid.NewGuid();
            await database.ExecuteAsync($"""
                INSERT INTO alto.audit_update_batch (id, tenant_id, host_id, source, update_count) VALUES ('{batchId}', '{tenantId}', '{hostId}', 'lucidlink_audit', {PerBatch});
                INSERT INTO alto.audit_update_staging (batch_id, seq, full_path, kind, at_unix)
                SELECT '{batchId}', n, '/lucid/p' || (i % 2000) || '/d' || (i % 50) || '/f' || i || '.dat', 'read', 1764300000 + n
                FROM generate_series(0, {PerBatch - 1}) AS n, LATERAL (SELECT ({b} * {PerBatch} + n) * 10 + {everyTenthFrom} AS i) AS f;
                """);
        }
        var backlog = new TrailBacklog(applier, Options.Create(options));
        var clock = Stopwatch.StartNew();
        var applied = 0;
        await backlog.ApplyAsync(hostId, async batchId =>
        {
            var outcome = await applier.ApplyAsync(batchId, hostId, CancellationToken.None);
            Interlocked.Add(ref applied, outcome.Applied);
        }, CancellationToken.None);
        return (clock.Elapsed, applied);
    }
}
