using Alto.GrainInterfaces.Reconcile;
using Npgsql;
using NpgsqlTypes;
using static Alto.Grains.Reconcile.ReconcileSql;

namespace Alto.Grains.Reconcile;

/// <summary>A lost stub with the intact copy of its content the run will re-tier it from; <see cref="CopyPathEscaped"/> when the copy's name is not UTF-8.</summary>
public sealed record IntactCopy(long TierObjectId, Guid CopyHostId, string CopyPath, Guid LostHostId, string LostPath, string Locator, bool CopyPathEscaped);

/// <summary>A re-tier the copy's agent settled, with the lost record it was for.</summary>
public sealed record SettledRestore(RestoreResult Result, Guid LostHostId, string LostPath, Guid CopyHostId, string CopyPath);

/// <summary>
/// alto.reconcile_restore: lost stubs whose content still exists whole on an online host of the
/// tenant (a record of the same SHA-256 and size whose file is real), the copy each is re-tiered
/// from, and what the copy's agent reported.
/// </summary>
public sealed class ReconcileRestores(NpgsqlDataSource db)
{
    /// <summary>
    /// Picks an intact copy for each of the records (a plain copy's content only: an encrypted
    /// object's key is not its content's), the most recently acted on first, and keeps the plan.
    /// </summary>
    public async Task<List<IntactCopy>> PlanAsync(ReconcileRunInfo run, IReadOnlyCollection<long> lost)
    {
        if (lost.Count == 0)
        {
            return [];
        }
        await using var command = db.CreateCommand("""
            INSERT INTO alto.reconcile_restore (run_id, tier_object_id, lost_host_id, lost_path, copy_host_id, copy_path, copy_path_escaped, sha256, size_bytes, target_id, locator)
            SELECT DISTINCT ON (t.id) $1, t.id, t.host_id, t.full_path, c.host_id, c.full_path, coalesce(cf.path_escaped, false), t.hash, t.size_bytes, t.target_id, t.locator
            FROM alto.tier_object t
            JOIN alto.tier_object c ON c.tenant_id = t.tenant_id AND c.hash = t.hash AND c.size_bytes = t.size_bytes AND c.id <> t.id
                                    AND c.state IN ('RECALLED', 'UPLOADED')
            -- The copy is read by a Linux agent, which can tell a real file from a stub without opening it.
            JOIN alto.host h ON h.id = c.host_id AND h.status = 'online' AND h.os = 'linux'
            -- A copy whose name is not UTF-8 is handed to its agent escaped, with the flag (the inventory's).
            LEFT JOIN alto.file_current cf ON cf.file_current_id = c.file_current_id
            WHERE t.id = ANY($4) AND t.tenant_id = $2 AND t.target_id = $3 AND t.state = 'LOST' AND t.hash = right(t.locator, 64)
            ORDER BY t.id, c.acted_utc DESC NULLS LAST
            ON CONFLICT DO NOTHING
            RETURNING tier_object_id, copy_host_id, copy_path, lost_host_id, lost_path, locator, copy_path_escaped
            """);
        AddRunScope(command, run);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. lost] });
        var copies = new List<IntactCopy>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            copies.Add(new IntactCopy(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetGuid(3), reader.GetString(4), reader.GetString(5), reader.GetBoolean(6)));
        }
        return copies;
    }

    /// <summary>The re-tiers of the run that wait on this host.</summary>
    public async Task<RestoreItem[]> PendingAsync(Guid runId, Guid hostId)
    {
        await using var command = db.CreateCommand("""
            SELECT tier_object_id, copy_path, sha256, size_bytes, target_id, locator, copy_path_escaped FROM alto.reconcile_restore
            WHERE run_id = $1 AND copy_host_id = $2 AND outcome IS NULL ORDER BY tier_object_id LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = RestoreResult.MaxPerReport });
        var items = new List<RestoreItem>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            items.Add(new RestoreItem(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetGuid(4), reader.GetString(5))
            {
                PathEscaped = reader.GetBoolean(6),
            });
        }
        return [.. items];
    }

    /// <summary>
    /// Records the agent's results (one transaction): null when one names no re-tier of the run
    /// on this host; one settled before (a report sent again) is passed over.
    /// </summary>
    public async Task<(List<SettledRestore> Settled, long Pending)?> SettleAsync(Guid runId, Guid hostId, IReadOnlyList<RestoreResult> results)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var known = new Dictionary<long, (bool Pending, Guid LostHost, string LostPath, string CopyPath)>();
        await using (var read = new NpgsqlCommand("""
            SELECT tier_object_id, outcome IS NULL, lost_host_id, lost_path, copy_path FROM alto.reconcile_restore
            WHERE run_id = $1 AND copy_host_id = $2 AND tier_object_id = ANY($3)
            FOR UPDATE
            """, connection, transaction))
        {
            read.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            read.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
            read.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. results.Select(result => result.TierObjectId)] });
            await using var reader = await read.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                known[reader.GetInt64(0)] = (reader.GetBoolean(1), reader.GetGuid(2), reader.GetString(3), reader.GetString(4));
            }
        }
        if (results.Any(result => !known.ContainsKey(result.TierObjectId)))
        {
            return null;
        }
        var settling = results.Where(result => known[result.TierObjectId].Pending).DistinctBy(result => result.TierObjectId).ToList();
        await using (var update = new NpgsqlCommand("""
            UPDATE alto.reconcile_restore r SET outcome = s.outcome, detail = s.detail
            FROM unnest($2::bigint[], $3::text[], $4::text[]) AS s(id, outcome, detail)
            WHERE r.run_id = $1 AND r.tier_object_id = s.id
            """, connection, transaction))
        {
            update.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            update.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. settling.Select(result => result.TierObjectId)] });
            update.Parameters.Add(Texts(settling.Select(result => (string?)result.Outcome)));
            update.Parameters.Add(Texts(settling.Select(result => result.Detail)));
            await update.ExecuteNonQueryAsync();
        }
        long pending;
        await using (var count = new NpgsqlCommand(
            "SELECT count(*) FROM alto.reconcile_restore WHERE run_id = $1 AND copy_host_id = $2 AND outcome IS NULL", connection, transaction))
        {
            count.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            count.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
            pending = (long)(await count.ExecuteScalarAsync())!;
        }
        await transaction.CommitAsync();
        return ([.. settling.Select(result =>
        {
            var row = known[result.TierObjectId];
            return new SettledRestore(result, row.LostHost, row.LostPath, hostId, row.CopyPath);
        })], pending);
    }

    /// <summary>Every re-tier still waiting on the host (all hosts when null; only its escaped copies with <paramref name="escapedOnly"/>) fails with the reason. Returns them, to be recorded as any settled re-tier.</summary>
    public async Task<List<SettledRestore>> FailPendingAsync(Guid runId, Guid? hostId, string reason, bool escapedOnly = false)
    {
        await using var command = db.CreateCommand("""
            UPDATE alto.reconcile_restore SET outcome = 'failed', detail = $3
            WHERE run_id = $1 AND ($2::uuid IS NULL OR copy_host_id = $2) AND outcome IS NULL AND (NOT $4 OR copy_path_escaped)
            RETURNING tier_object_id, lost_host_id, lost_path, copy_host_id, copy_path
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<Guid?> { TypedValue = hostId, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = reason });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = escapedOnly });
        var failed = new List<SettledRestore>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            failed.Add(new SettledRestore(new RestoreResult(reader.GetInt64(0), RestoreResult.Failed, reason), reader.GetGuid(1), reader.GetString(2), reader.GetGuid(3), reader.GetString(4)));
        }
        return failed;
    }

    /// <summary>Says in the lost record's finding (missing, or found as a copy) what became of its re-tier.</summary>
    public async Task SetRepairAsync(Guid runId, long tierObjectId, string repair)
    {
        await using var command = db.CreateCommand(
            "UPDATE alto.reconcile_finding SET repair = $3 WHERE run_id = $1 AND class IN ('missing', 'found') AND tier_object_id = $2");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = tierObjectId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = repair });
        await command.ExecuteNonQueryAsync();
    }
}
