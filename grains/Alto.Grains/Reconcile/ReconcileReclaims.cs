using Alto.Audit;
using Alto.GrainInterfaces.Reconcile;
using Npgsql;
using static Alto.Grains.Reconcile.ReconcileSql;

namespace Alto.Grains.Reconcile;

/// <summary>
/// The orphans a run deletes in its reclaiming phase: its orphan findings marked pending, handed
/// to the listing agent a page at a time and settled by its reports, each deletion audited in the
/// same transaction that records it.
/// </summary>
public sealed class ReconcileReclaims(NpgsqlDataSource db)
{
    /// <summary>
    /// Keeps every pending orphan a record of the tenant on the target names since the run
    /// classified it (an upload of the same content that was recorded meanwhile): it is data again.
    /// </summary>
    public async Task<int> KeepReferencedAsync(ReconcileRunInfo run)
    {
        await using var command = db.CreateCommand("""
            UPDATE alto.reconcile_finding f SET reclaim = 'kept', repair = 'kept: a record names the object since the run classified it'
            WHERE f.run_id = $1 AND f.reclaim = 'pending'
              AND EXISTS (SELECT 1 FROM alto.tier_object t WHERE t.tenant_id = $2 AND t.target_id = $3 AND t.locator COLLATE "C" = f.object_key)
            """);
        AddRunScope(command, run);
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>The next pending orphans, in key order.</summary>
    public async Task<string[]> PendingAsync(Guid runId, int limit)
    {
        await using var command = db.CreateCommand(
            "SELECT object_key FROM alto.reconcile_finding WHERE run_id = $1 AND reclaim = 'pending' ORDER BY object_key LIMIT $2");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var keys = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            keys.Add(reader.GetString(0));
        }
        return [.. keys];
    }

    /// <summary>
    /// Settles the orphans the agent reports on (one transaction, the findings locked): null when a
    /// key is none of the run's orphans to reclaim; a key settled before (a report sent again) is
    /// passed over, but for one kept when the run ended early that the agent reports deleted. Returns
    /// how many were settled now and how many stay pending.
    /// </summary>
    public async Task<(List<ReclaimResult> Settled, long Pending)?> SettleAsync(ReconcileRunInfo run, IReadOnlyList<ReclaimResult> results, DateTimeOffset now)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var known = new Dictionary<string, (long Id, string Reclaim)>(StringComparer.Ordinal);
        await using (var read = new NpgsqlCommand("""
            SELECT object_key, id, reclaim FROM alto.reconcile_finding
            WHERE run_id = $1 AND class = 'orphan' AND reclaim IS NOT NULL AND object_key = ANY($2)
            FOR UPDATE
            """, connection, transaction))
        {
            read.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.RunId });
            read.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. results.Select(result => result.Key)] });
            await using var reader = await read.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                known[reader.GetString(0)] = (reader.GetInt64(1), reader.GetString(2));
            }
        }
        if (results.Any(result => !known.ContainsKey(result.Key)))
        {
            return null;
        }
        // Pending ones; and one kept when its run ended early that the agent had deleted by then: the object is gone, and is said to be.
        var settling = results.Where(result => known[result.Key].Reclaim == ReconcileReclaimStates.Pending
                                               || (known[result.Key].Reclaim == ReconcileReclaimStates.Kept && result.Outcome == ReclaimResult.Deleted
                                                   && run.Status != ReconcileRunInfo.Reclaiming))
            .DistinctBy(result => result.Key).ToList();
        if (settling.Count > 0)
        {
            await using var update = new NpgsqlCommand("""
                UPDATE alto.reconcile_finding f SET reclaim = s.reclaim, repair = s.repair
                FROM unnest($2::bigint[], $3::text[], $4::text[]) AS s(id, reclaim, repair)
                WHERE f.run_id = $1 AND f.id = s.id
                """, connection, transaction);
            update.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.RunId });
            update.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. settling.Select(result => known[result.Key].Id)] });
            update.Parameters.Add(Texts(settling.Select(result => (string?)(result.Outcome == ReclaimResult.Deleted ? ReconcileReclaimStates.Deleted : ReconcileReclaimStates.Kept))));
            update.Parameters.Add(Texts(settling.Select(result => (string?)Repair(run, result))));
            await update.ExecuteNonQueryAsync();
            // Each deletion, and each that failed, is audited; a kept or vanished object is in the findings.
            await AuditLog.AppendAsync(connection, transaction, [.. settling.Where(result => result.Outcome is ReclaimResult.Deleted or ReclaimResult.Failed).Select(result =>
                new AuditEntry(run.TenantId, $"reconcile:{run.RunId}", "reconcile.orphan_deleted", "storage_target", run.TargetId.ToString(),
                    Succeeded: result.Outcome == ReclaimResult.Deleted,
                    new Dictionary<string, object?>
                    {
                        ["runId"] = run.RunId, ["objectKey"] = result.Key, ["graceDays"] = run.OrphanGraceDays, ["unmodifiedSince"] = run.ReclaimBefore,
                        ["error"] = result.Outcome == ReclaimResult.Failed ? result.Detail : null,
                    }) { HostId = run.HostId })], CancellationToken.None);
        }
        if (settling.Count > 0 && run.Status != ReconcileRunInfo.Reclaiming)
        {
            // The run's end counted its orphans' fate: deletions reported after it are counted too.
            await using var recount = new NpgsqlCommand("""
                UPDATE alto.reconcile_run SET counts = counts || jsonb_build_object(
                    'orphan.deleted', (SELECT count(*) FROM alto.reconcile_finding WHERE run_id = $1 AND reclaim = 'deleted'),
                    'orphan.kept', (SELECT count(*) FROM alto.reconcile_finding WHERE run_id = $1 AND reclaim = 'kept'))
                WHERE id = $1
                """, connection, transaction);
            recount.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.RunId });
            await recount.ExecuteNonQueryAsync();
        }
        long pending;
        await using (var count = new NpgsqlCommand("SELECT count(*) FROM alto.reconcile_finding WHERE run_id = $1 AND reclaim = 'pending'", connection, transaction))
        {
            count.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.RunId });
            pending = (long)(await count.ExecuteScalarAsync())!;
        }
        await using (var touch = new NpgsqlCommand("UPDATE alto.reconcile_run SET updated_at = $2 WHERE id = $1", connection, transaction))
        {
            touch.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.RunId });
            touch.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            await touch.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
        return (settling, pending);
    }

    /// <summary>Keeps every orphan still pending, with the reason (the run ended before its agent got to them).</summary>
    public async Task KeepPendingAsync(Guid runId, string reason)
    {
        await using var command = db.CreateCommand("UPDATE alto.reconcile_finding SET reclaim = 'kept', repair = $2 WHERE run_id = $1 AND reclaim = 'pending'");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "kept: " + reason });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>How the run's orphans fared: deleted, and kept of those it meant to delete.</summary>
    public async Task<(long Deleted, long Kept)> OutcomeAsync(Guid runId)
    {
        await using var command = db.CreateCommand("""
            SELECT count(*) FILTER (WHERE reclaim = 'deleted'), count(*) FILTER (WHERE reclaim = 'kept')
            FROM alto.reconcile_finding WHERE run_id = $1 AND reclaim IS NOT NULL
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static string Repair(ReconcileRunInfo run, ReclaimResult result) => result.Outcome switch
    {
        ReclaimResult.Deleted => $"deleted: unreferenced for over the {run.OrphanGraceDays}-day grace period",
        ReclaimResult.Absent => "none: the object was gone already",
        ReclaimResult.Newer => $"kept: the store shows it modified after {run.ReclaimBefore:yyyy-MM-dd HH:mm}Z (an upload of the same content)",
        _ => "kept: the delete failed: " + (result.Detail ?? "the agent gave no reason"),
    };
}
