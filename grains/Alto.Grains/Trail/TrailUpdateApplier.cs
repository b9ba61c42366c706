using Alto.Audit;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Trail;

/// <summary>
/// Applies a staged batch of audit-trail updates to a host's inventory in one transaction (the
/// seed's update worker): a read sets <c>atime</c> only when newer, with the source
/// <c>lucidlink_audit</c>; a write sets <c>mtime</c> only when newer; a delete marks the file
/// deleted; a move renames it (unless the new path is taken). Tier objects of read files in
/// PLANNED or STUBBED get their last access and count (warming). The batch is marked applied,
/// so applying it again does nothing, and one audit entry records what it did.
/// </summary>
public sealed partial class TrailUpdateApplier(NpgsqlDataSource db, ILogger<TrailUpdateApplier> logger)
{
    /// <summary>Times a batch is tried when the database ends it to break a deadlock.</summary>
    private const int DeadlockAttempts = 3;

    /// <summary>
    /// Applies the batch; one staged by another host than <paramref name="hostId"/> is not this host's to apply and is refused.
    /// Batches of reads applied side by side may wait on each other's files; where two wait on each
    /// other, the database ends one of them, whole, and it is simply tried again.
    /// </summary>
    public async Task<TrailUpdateOutcome> ApplyAsync(Guid batchId, Guid hostId, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ApplyOnceAsync(batchId, hostId, cancellationToken);
            }
            catch (PostgresException deadlock) when (deadlock.SqlState == PostgresErrorCodes.DeadlockDetected && attempt < DeadlockAttempts)
            {
                // Nothing of the batch was applied; said, so a trail whose batches keep colliding shows in the log.
                LogDeadlockRetried(logger, batchId, hostId, attempt, DeadlockAttempts);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Trail batch {BatchId} of host {HostId} was ended by the database to break a deadlock with another batch; applying it again (attempt {Attempt} of {Attempts})")]
    private static partial void LogDeadlockRetried(ILogger logger, Guid batchId, Guid hostId, int attempt, int attempts);

    private async Task<TrailUpdateOutcome> ApplyOnceAsync(Guid batchId, Guid hostId, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // A batch names thousands of a host's millions of files: each found through the path index,
        // not by hashing the whole host. At the default random_page_cost (4, a spinning disk's) the
        // planner scans the host instead; measured on 1 M files, 10,000 paths: 516 ms scanning
        // against 80 ms through the index. For this transaction only.
        await using (var probe = new NpgsqlCommand("SET LOCAL random_page_cost = 1.1", connection, transaction))
        {
            await probe.ExecuteNonQueryAsync(cancellationToken);
        }
        Guid tenantId;
        bool windows;
        await using (var claim = new NpgsqlCommand(
            """
            SELECT b.tenant_id, b.host_id, b.applied_at IS NOT NULL, h.os = 'windows'
            FROM alto.audit_update_batch b JOIN alto.host h ON h.id = b.host_id
            WHERE b.id = $1 AND b.host_id = $2
            FOR UPDATE OF b
            """, connection, transaction))
        {
            claim.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = batchId });
            claim.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
            await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                throw new InvalidOperationException($"audit update batch {batchId} is not staged for host {hostId}");
            }
            if (reader.GetBoolean(2))
            {
                return new TrailUpdateOutcome(0, 0, 0, 0, AlreadyApplied: true);
            }
            tenantId = reader.GetGuid(0);
            windows = reader.GetBoolean(3);
        }
        if (windows)
        {
            await MatchWithoutCaseAsync(connection, transaction, batchId, tenantId, hostId, cancellationToken);
        }
        var outcome = await OnlyReadsAsync(connection, transaction, batchId, cancellationToken)
            ? await ApplyReadsAsync(connection, transaction, batchId, tenantId, hostId, cancellationToken)
            : await ApplyByKindAsync(connection, transaction, batchId, tenantId, hostId, windows, cancellationToken);
        await using (var done = new NpgsqlCommand(
            "UPDATE alto.audit_update_batch SET applied_at = now(), applied = $2, unknown = $3, stale = $4 WHERE id = $1", connection, transaction))
        {
            done.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = batchId });
            done.Parameters.Add(new NpgsqlParameter<int> { TypedValue = outcome.Applied });
            done.Parameters.Add(new NpgsqlParameter<int> { TypedValue = outcome.Unknown });
            done.Parameters.Add(new NpgsqlParameter<int> { TypedValue = outcome.Stale });
            await done.ExecuteNonQueryAsync(cancellationToken);
        }
        await AuditLog.AppendAsync(connection, transaction, new AuditEntry(tenantId, $"agent:{hostId}", "inventory.audit_updates_applied", "audit_update_batch",
            batchId.ToString(), Succeeded: true, new Dictionary<string, object?>
            {
                ["source"] = "lucidlink_audit",
                ["applied"] = outcome.Applied,
                ["unknownPaths"] = outcome.Unknown,
                ["stale"] = outcome.Stale,
                ["warmedTierObjects"] = outcome.Warmed,
            }) { HostId = hostId }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return outcome;
    }

    /// <summary>Whether the batch holds reads only (nearly every batch of a LucidLink trail).</summary>
    private static async Task<bool> OnlyReadsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid batchId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT NOT EXISTS (SELECT 1 FROM alto.audit_update_staging WHERE batch_id = $1 AND kind <> 'read')", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = batchId });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// A batch of reads in one statement: each staged path is found in the host's inventory once,
    /// and the counts, the access times and the warming all come from that one match. The access
    /// times are then written by file id, in id order (batches applied side by side then lock their
    /// common files in the same order, and wait rather than deadlock); a read counts as applied only
    /// when its file's row was written — a batch applied beside this one may have set a newer time
    /// meanwhile, and the read is then stale. Measured on 1 M files, a batch of 10,000 reads: the
    /// separate count found every path a second time (about 55 ms of a 290 ms batch).
    /// </summary>
    private static async Task<TrailUpdateOutcome> ApplyReadsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid batchId, Guid tenantId, Guid hostId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($$"""
            WITH matched AS MATERIALIZED (
                SELECT s.at_unix, f.file_current_id, f.atime_unix, f.deleted_utc
                FROM alto.audit_update_staging s
                LEFT JOIN alto.file_current f ON f.tenant_id = $2 AND f.host_id = $3 AND f.full_path = s.full_path AND NOT f.path_escaped
                WHERE s.batch_id = $1),
            reads AS (
                SELECT file_current_id, max(at_unix) AS at_unix, count(*) AS times, bool_and(deleted_utc IS NULL) AS live
                FROM matched WHERE file_current_id IS NOT NULL GROUP BY file_current_id ORDER BY file_current_id),
            accessed AS (
                UPDATE alto.file_current f
                SET atime_unix = r.at_unix, last_accessed_source = 'lucidlink_audit', atime_updated_utc = now(), updated_utc = now()
                FROM reads r
                WHERE f.file_current_id = r.file_current_id AND r.live AND f.deleted_utc IS NULL AND r.at_unix > f.atime_unix
                RETURNING f.file_current_id),
            warmed AS (
                {{TrailStatements.Warm("reads")}}
                RETURNING 1)
            SELECT count(*) FILTER (WHERE m.file_current_id IS NULL)::int,
                   count(*) FILTER (WHERE m.file_current_id IS NOT NULL AND (m.at_unix <= m.atime_unix OR (m.deleted_utc IS NULL AND a.file_current_id IS NULL)))::int,
                   count(*) FILTER (WHERE a.file_current_id IS NOT NULL AND m.at_unix > m.atime_unix)::int,
                   (SELECT count(*)::int FROM warmed)
            FROM matched m LEFT JOIN accessed a ON a.file_current_id = m.file_current_id
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = batchId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new TrailUpdateOutcome(reader.GetInt32(2), reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(3), AlreadyApplied: false);
    }

    /// <summary>
    /// A batch of several kinds: counted first, then one statement per kind (a file read and
    /// written in the same batch must get both changes). A statement with nothing to do is not run:
    /// each finds its rows among the host's files, and the folder move compares every path of the
    /// host (measured: a quarter of a second a batch of reads).
    /// </summary>
    private static async Task<TrailUpdateOutcome> ApplyByKindAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid batchId, Guid tenantId, Guid hostId, bool windows, CancellationToken cancellationToken)
    {
        var (counts, kinds) = await CountAsync(connection, transaction, batchId, tenantId, hostId, cancellationToken);
        foreach (var (kind, sql) in TrailStatements.ByKind(windows))
        {
            if (kind == TrailStatements.WarmKind ? counts.Warmed == 0 : !kinds.Contains(kind))
            {
                continue;
            }
            await using var apply = new NpgsqlCommand(sql, connection, transaction);
            apply.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = batchId });
            apply.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
            apply.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
            await apply.ExecuteNonQueryAsync(cancellationToken);
        }
        return counts;
    }

    /// <summary>
    /// A Windows host's paths ignore case: each staged path (and move target) that names an inventory
    /// file in another case is rewritten to the inventory's spelling, so every statement below can
    /// compare exactly. (A Windows path never begins with '/': the condition says so to the planner,
    /// whose case-insensitive index holds those rows only — migration 0031.)
    /// </summary>
    private static async Task MatchWithoutCaseAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid batchId, Guid tenantId, Guid hostId, CancellationToken cancellationToken)
    {
        string[] statements =
        [
            """
            UPDATE alto.audit_update_staging s SET full_path = f.full_path
            FROM alto.file_current f
            WHERE s.batch_id = $1 AND f.tenant_id = $2 AND f.host_id = $3 AND f.deleted_utc IS NULL AND NOT f.path_escaped
              AND left(f.full_path, 1) <> '/' AND lower(f.full_path) = lower(s.full_path) AND f.full_path <> s.full_path
            """,
            """
            UPDATE alto.audit_update_staging s SET target_path = f.full_path
            FROM alto.file_current f
            WHERE s.batch_id = $1 AND s.kind = 'move' AND f.tenant_id = $2 AND f.host_id = $3 AND f.deleted_utc IS NULL AND NOT f.path_escaped
              AND left(f.full_path, 1) <> '/' AND lower(f.full_path) = lower(s.target_path) AND f.full_path <> s.target_path
            """,
        ];
        foreach (var sql in statements)
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = batchId });
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>The figures, taken before the changes: paths the inventory does not hold, reads not newer than it has, and what will change.</summary>
    private static async Task<(TrailUpdateOutcome Counts, string[] Kinds)> CountAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid batchId, Guid tenantId, Guid hostId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            WITH staged AS (
                SELECT s.kind, s.at_unix, f.file_current_id, f.atime_unix, f.mtime_unix, f.deleted_utc
                FROM alto.audit_update_staging s
                LEFT JOIN alto.file_current f ON f.tenant_id = $2 AND f.host_id = $3 AND f.full_path = s.full_path AND NOT f.path_escaped
                WHERE s.batch_id = $1)
            SELECT count(*) FILTER (WHERE file_current_id IS NULL)::int,
                   count(*) FILTER (WHERE kind = 'read' AND file_current_id IS NOT NULL AND at_unix <= atime_unix)::int,
                   count(*) FILTER (WHERE file_current_id IS NOT NULL AND deleted_utc IS NULL AND (
                       (kind = 'read' AND at_unix > atime_unix) OR (kind = 'write' AND at_unix > mtime_unix) OR kind IN ('delete', 'move')))::int,
                   (SELECT count(*)::int FROM alto.tier_object t
                    WHERE t.state IN ('PLANNED', 'STUBBED')
                      AND t.file_current_id IN (SELECT file_current_id FROM staged WHERE kind = 'read' AND file_current_id IS NOT NULL)),
                   array_agg(DISTINCT kind) FILTER (WHERE file_current_id IS NOT NULL OR kind = 'move')
            FROM staged
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = batchId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var kinds = await reader.IsDBNullAsync(4, cancellationToken) ? [] : await reader.GetFieldValueAsync<string[]>(4, cancellationToken);
        return (new TrailUpdateOutcome(reader.GetInt32(2), reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(3), AlreadyApplied: false), kinds);
    }

    /// <summary>Batches of the host staged and not applied yet (nor set aside as failed), oldest first, each with whether it holds reads only.</summary>
    public async Task<PendingTrailBatch[]> PendingBatchesAsync(Guid hostId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT b.id, NOT EXISTS (SELECT 1 FROM alto.audit_update_staging s WHERE s.batch_id = b.id AND s.kind <> 'read')
            FROM alto.audit_update_batch b
            WHERE b.host_id = $1 AND b.applied_at IS NULL AND b.failed_at IS NULL ORDER BY b.received_at
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var batches = new List<PendingTrailBatch>();
        while (await reader.ReadAsync(cancellationToken))
        {
            batches.Add(new PendingTrailBatch(reader.GetGuid(0), reader.GetBoolean(1)));
        }
        return [.. batches];
    }

    /// <summary>
    /// Sets aside a batch the database refused to apply, with the reason, and audits it (failed) in
    /// the same transaction; the host's later batches are applied without it.
    /// </summary>
    public async Task MarkFailedAsync(Guid batchId, Guid hostId, string error, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "UPDATE alto.audit_update_batch SET failed_at = now(), error = $3 WHERE id = $1 AND host_id = $2 RETURNING tenant_id, update_count",
            connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = batchId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = error });
        Guid tenantId;
        int updates;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return;
            }
            (tenantId, updates) = (reader.GetGuid(0), reader.GetInt32(1));
        }
        await AuditLog.AppendAsync(connection, transaction, new AuditEntry(tenantId, "system", "inventory.trail_batch_failed", "audit_update_batch",
            batchId.ToString(), Succeeded: false, new Dictionary<string, object?>
            {
                ["source"] = "lucidlink_audit", ["updates"] = updates, ["error"] = error,
                ["outcome"] = "set aside, not applied; the host's later batches are applied",
            }) { HostId = hostId }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Stubs of the host read at least <paramref name="reads"/> times (and not flagged before) are
    /// flagged now; returns their paths, for a recall.
    /// </summary>
    public async Task<string[]> FlagForRecallAsync(Guid hostId, int reads, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            UPDATE alto.tier_object SET recall_flagged_utc = now(), updated_utc = now()
            WHERE host_id = $1 AND state = 'STUBBED' AND access_count >= $2 AND recall_flagged_utc IS NULL
            RETURNING full_path
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = reads });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var paths = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            paths.Add(reader.GetString(0));
        }
        return [.. paths];
    }
}
