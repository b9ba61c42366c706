using Alto.GrainInterfaces.Reconcile;
using Npgsql;
using NpgsqlTypes;
using static Alto.Grains.Reconcile.ReconcileSql;

namespace Alto.Grains.Reconcile;

/// <summary>alto.reconcile_stub: what a run asks the hosts' agents about, what they answer, and where that disagrees with the records.</summary>
public sealed class ReconcileCensus(NpgsqlDataSource db)
{
    /// <summary>
    /// Seeds the census and moves the run to it: the target's STUBBED and LOST records, and files
    /// the last scans saw as stubs that no record knows (their target is learnt from their markers),
    /// of the hosts online now; those of the others are counted as unchecked. Returns the paths to
    /// ask each online host about.
    /// </summary>
    public async Task<Dictionary<Guid, string[]>> BeginCensusAsync(ReconcileRunInfo run, DateTimeOffset now)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var seed = new NpgsqlBatch(connection, transaction))
        {
            // Only online Linux hosts are asked (the census reads Linux stub attributes); the stubs of
            // the others are counted, not copied (a target's records can be millions, most of them
            // on hosts that are not there). So are stubs whose names are not UTF-8: a census asks by
            // path alone, and their escaped text names no file; judged unasked, they would be drift.
            foreach (var sql in new[]
            {
                """
                INSERT INTO alto.reconcile_stub (run_id, host_id, path, tier_object_id)
                SELECT $1, t.host_id, t.full_path, t.id FROM alto.tier_object t JOIN alto.host h ON h.id = t.host_id AND h.status = 'online' AND h.os = 'linux'
                LEFT JOIN alto.file_current f ON f.file_current_id = t.file_current_id
                WHERE t.tenant_id = $2 AND t.target_id = $3 AND t.state IN ('STUBBED', 'LOST') AND NOT coalesce(f.path_escaped, false)
                ON CONFLICT DO NOTHING
                """,
                """
                INSERT INTO alto.reconcile_stub (run_id, host_id, path)
                SELECT $1, f.host_id, f.full_path FROM alto.file_current f JOIN alto.host h ON h.id = f.host_id AND h.status = 'online' AND h.os = 'linux'
                WHERE f.tenant_id = $2 AND f.is_stub AND f.deleted_utc IS NULL AND NOT f.path_escaped
                  AND NOT EXISTS (SELECT 1 FROM alto.tier_object t WHERE t.file_current_id = f.file_current_id AND t.state IN ('STUBBED', 'LOST', 'RECALLING'))
                ON CONFLICT DO NOTHING
                """,
                """
                UPDATE alto.reconcile_run SET census_unchecked = (
                    SELECT count(*) FROM alto.tier_object t JOIN alto.host h ON h.id = t.host_id
                    LEFT JOIN alto.file_current f ON f.file_current_id = t.file_current_id
                    WHERE t.tenant_id = $2 AND t.target_id = $3 AND t.state IN ('STUBBED', 'LOST')
                      AND (h.status <> 'online' OR h.os <> 'linux' OR coalesce(f.path_escaped, false)))
                WHERE id = $1
                """,
            })
            {
                var step = new NpgsqlBatchCommand(sql);
                // Each statement takes the run's scope up to the last of $1 (run), $2 (tenant), $3 (target) it uses.
                AddRunScope(step.Parameters, run, sql.Contains("$3", StringComparison.Ordinal) ? 3 : sql.Contains("$2", StringComparison.Ordinal) ? 2 : 1);
                seed.BatchCommands.Add(step);
            }
            var begin = new NpgsqlBatchCommand("UPDATE alto.reconcile_run SET status = 'census', updated_at = $2 WHERE id = $1");
            begin.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.RunId });
            begin.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            seed.BatchCommands.Add(begin);
            await seed.ExecuteNonQueryAsync();
        }
        var paths = new Dictionary<Guid, string[]>();
        await using (var pending = new NpgsqlCommand(
            "SELECT host_id, array_agg(path ORDER BY path) FROM alto.reconcile_stub WHERE run_id = $1 AND found IS NULL GROUP BY host_id", connection, transaction))
        {
            pending.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.RunId });
            await using var reader = await pending.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                paths[reader.GetGuid(0)] = await reader.GetFieldValueAsync<string[]>(1);
            }
        }
        await transaction.CommitAsync();
        return paths;
    }

    /// <summary>
    /// Takes a host's answers for paths of the census still waiting for one (an answer given
    /// before is kept). Null, and nothing changed, when a path is not one the run asked this host about.
    /// </summary>
    public async Task<(int Taken, long Pending)?> RecordCensusAsync(Guid runId, Guid hostId, IReadOnlyList<StubFact> facts, DateTimeOffset now)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var paths = facts.Select(fact => fact.Path).Distinct().ToArray();
        await using (var known = new NpgsqlCommand("SELECT count(*) FROM alto.reconcile_stub WHERE run_id = $1 AND host_id = $2 AND path = ANY($3)", connection, transaction))
        {
            known.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            known.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
            known.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = paths });
            if ((long)(await known.ExecuteScalarAsync())! != paths.Length)
            {
                return null;
            }
        }
        int taken;
        await using (var update = new NpgsqlCommand("""
            UPDATE alto.reconcile_stub s SET found = f.found, locator = f.locator, sha256 = f.sha256, target_id = f.target_id, detail = f.detail
            FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::text[]) AS f(path, found, locator, sha256, target_id, detail)
            WHERE s.run_id = $1 AND s.host_id = $2 AND s.path = f.path AND s.found IS NULL
            """, connection, transaction))
        {
            update.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            update.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
            update.Parameters.Add(Texts(facts.Select(fact => (string?)fact.Path)));
            update.Parameters.Add(Texts(facts.Select(fact => (string?)fact.Found)));
            update.Parameters.Add(Texts(facts.Select(fact => fact.Locator)));
            update.Parameters.Add(Texts(facts.Select(fact => fact.Sha256)));
            update.Parameters.Add(new NpgsqlParameter<Guid?[]> { TypedValue = [.. facts.Select(fact => fact.TargetId)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
            update.Parameters.Add(Texts(facts.Select(fact => fact.Detail)));
            taken = await update.ExecuteNonQueryAsync();
        }
        await using (var touch = new NpgsqlCommand("UPDATE alto.reconcile_run SET updated_at = $2 WHERE id = $1", connection, transaction))
        {
            touch.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            touch.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            await touch.ExecuteNonQueryAsync();
        }
        long pending;
        await using (var count = new NpgsqlCommand("SELECT count(*) FROM alto.reconcile_stub WHERE run_id = $1 AND found IS NULL", connection, transaction))
        {
            count.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            pending = (long)(await count.ExecuteScalarAsync())!;
        }
        await transaction.CommitAsync();
        return (taken, pending);
    }

    /// <summary>Census answers that do not agree with the records: a record's stub gone, replaced, unreadable or not its own; a stub of the target no record knows.</summary>
    public async Task<List<DriftItem>> DriftAsync(ReconcileRunInfo run)
    {
        await using var command = db.CreateCommand("""
            SELECT s.host_id, s.path, t.id, s.found, s.locator, s.sha256, s.detail, t.locator, t.hash
            FROM alto.reconcile_stub s
            LEFT JOIN alto.tier_object t ON t.id = s.tier_object_id AND t.state IN ('STUBBED', 'LOST')
            WHERE s.run_id = $1
              AND (t.id IS NOT NULL AND (s.found IN ('absent', 'file', 'unreadable')
                                         OR s.found = 'stub' AND (s.locator IS DISTINCT FROM t.locator OR s.sha256 IS DISTINCT FROM t.hash OR s.detail IS NOT NULL))
                   OR s.tier_object_id IS NULL AND s.found = 'stub' AND s.target_id = $3)
              AND EXISTS (SELECT 1 FROM alto.host h WHERE h.id = s.host_id AND h.tenant_id = $2)
            ORDER BY s.host_id, s.path
            """);
        AddRunScope(command, run);
        var drift = new List<DriftItem>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            drift.Add(ReadDrift(reader));
        }
        return drift;
    }

    /// <summary>How many of the target's stubs went unchecked: their host was not online when the census began, or not a Linux host, or their name is not UTF-8.</summary>
    public async Task<long> UncheckedAsync(Guid runId)
    {
        await using var command = db.CreateCommand("SELECT census_unchecked FROM alto.reconcile_run WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static DriftItem ReadDrift(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetInt64(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7),
        reader.IsDBNull(8) ? null : reader.GetString(8));
}
