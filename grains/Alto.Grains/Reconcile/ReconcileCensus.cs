using Alto.GrainInterfaces.Reconcile;
using Npgsql;
using NpgsqlTypes;
using static Alto.Grains.Reconcile.ReconcileSql;

namespace Alto.Grains.Reconcile;

/// <summary>alto.reconcile_stub: what a run asks the hosts' agents about, what they answer, and where that disagrees with the records.</summary>
public sealed class ReconcileCensus(NpgsqlDataSource db)
{
    /// <summary>The tenant's Windows hosts online now.</summary>
    public async Task<List<Guid>> OnlineWindowsHostsAsync(Guid tenantId)
    {
        await using var command = db.CreateCommand("SELECT id FROM alto.host WHERE tenant_id = $1 AND status = 'online' AND os = 'windows'");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        await using var reader = await command.ExecuteReaderAsync();
        var hosts = new List<Guid>();
        while (await reader.ReadAsync())
        {
            hosts.Add(reader.GetGuid(0));
        }
        return hosts;
    }

    /// <summary>
    /// Seeds the census and moves the run to it: the target's STUBBED and LOST records, and files
    /// the last scans saw as stubs that no record knows (their target is learnt from their markers),
    /// of the hosts online now; those of the others are counted as unchecked. Returns the paths to
    /// ask each online host about, those whose names are not UTF-8 apart (escaped, as the inventory holds them).
    /// Linux hosts are asked; Windows hosts only those in <paramref name="windowsHostsAsked"/> (their agent answers a census).
    /// </summary>
    public async Task<Dictionary<Guid, CensusPaths>> BeginCensusAsync(ReconcileRunInfo run, DateTimeOffset now, Guid[] windowsHostsAsked)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var seed = new NpgsqlBatch(connection, transaction))
        {
            // Only online hosts are asked, and of the Windows ones those whose agent answers a census
            // (through its stub driver); the stubs of the others are counted, not copied (a target's
            // records can be millions, most of them on hosts that are not there). A path and its
            // escaped flag name a file together: stubs whose names are not UTF-8 are asked by their
            // escaped text, flagged.
            foreach (var sql in new[]
            {
                """
                INSERT INTO alto.reconcile_stub (run_id, host_id, path, path_escaped, tier_object_id)
                SELECT $1, t.host_id, t.full_path, coalesce(f.path_escaped, false), t.id FROM alto.tier_object t JOIN alto.host h ON h.id = t.host_id AND h.status = 'online' AND (h.os = 'linux' OR h.id = ANY($4))
                LEFT JOIN alto.file_current f ON f.file_current_id = t.file_current_id
                WHERE t.tenant_id = $2 AND t.target_id = $3 AND t.state IN ('STUBBED', 'LOST')
                ON CONFLICT DO NOTHING
                """,
                """
                INSERT INTO alto.reconcile_stub (run_id, host_id, path, path_escaped)
                SELECT $1, f.host_id, f.full_path, f.path_escaped FROM alto.file_current f JOIN alto.host h ON h.id = f.host_id AND h.status = 'online' AND (h.os = 'linux' OR h.id = ANY($4))
                WHERE f.tenant_id = $2 AND f.is_stub AND f.deleted_utc IS NULL
                  AND NOT EXISTS (SELECT 1 FROM alto.tier_object t WHERE t.file_current_id = f.file_current_id AND t.state IN ('STUBBED', 'LOST', 'RECALLING'))
                ON CONFLICT DO NOTHING
                """,
                """
                UPDATE alto.reconcile_run SET census_unchecked = (
                    SELECT count(*) FROM alto.tier_object t JOIN alto.host h ON h.id = t.host_id
                    WHERE t.tenant_id = $2 AND t.target_id = $3 AND t.state IN ('STUBBED', 'LOST') AND (h.status <> 'online' OR (h.os <> 'linux' AND h.id <> ALL($4))))
                WHERE id = $1
                """,
            })
            {
                var step = new NpgsqlBatchCommand(sql);
                // Each statement takes the run's scope up to the last of $1 (run), $2 (tenant), $3 (target) it uses; $4 the Windows hosts asked.
                AddRunScope(step.Parameters, run, sql.Contains("$3", StringComparison.Ordinal) || sql.Contains("$4", StringComparison.Ordinal) ? 3 : sql.Contains("$2", StringComparison.Ordinal) ? 2 : 1);
                if (sql.Contains("$4", StringComparison.Ordinal))
                {
                    step.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = windowsHostsAsked });
                }
                seed.BatchCommands.Add(step);
            }
            var begin = new NpgsqlBatchCommand("UPDATE alto.reconcile_run SET status = 'census', updated_at = $2 WHERE id = $1");
            begin.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.RunId });
            begin.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            seed.BatchCommands.Add(begin);
            await seed.ExecuteNonQueryAsync();
        }
        var paths = new Dictionary<Guid, CensusPaths>();
        await using (var pending = new NpgsqlCommand("""
            SELECT host_id, coalesce(array_agg(path ORDER BY path) FILTER (WHERE NOT path_escaped), '{}'),
                   coalesce(array_agg(path ORDER BY path) FILTER (WHERE path_escaped), '{}')
            FROM alto.reconcile_stub WHERE run_id = $1 AND found IS NULL GROUP BY host_id
            """, connection, transaction))
        {
            pending.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.RunId });
            await using var reader = await pending.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                paths[reader.GetGuid(0)] = new CensusPaths(await reader.GetFieldValueAsync<string[]>(1), await reader.GetFieldValueAsync<string[]>(2));
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
        var named = facts.Select(fact => (fact.Path, fact.PathEscaped)).Distinct().ToArray();
        await using (var known = new NpgsqlCommand("""
            SELECT count(*) FROM alto.reconcile_stub s JOIN unnest($3::text[], $4::boolean[]) AS p(path, path_escaped) ON s.path = p.path AND s.path_escaped = p.path_escaped
            WHERE s.run_id = $1 AND s.host_id = $2
            """, connection, transaction))
        {
            known.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            known.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
            known.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. named.Select(name => name.Path)] });
            known.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. named.Select(name => name.PathEscaped)] });
            if ((long)(await known.ExecuteScalarAsync())! != named.Length)
            {
                return null;
            }
        }
        int taken;
        await using (var update = new NpgsqlCommand("""
            UPDATE alto.reconcile_stub s SET found = f.found, locator = f.locator, sha256 = f.sha256, target_id = f.target_id, detail = f.detail
            FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::text[], $9::boolean[]) AS f(path, found, locator, sha256, target_id, detail, path_escaped)
            WHERE s.run_id = $1 AND s.host_id = $2 AND s.path = f.path AND s.path_escaped = f.path_escaped AND s.found IS NULL
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
            update.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. facts.Select(fact => fact.PathEscaped)] });
            taken = await update.ExecuteNonQueryAsync();
        }
        await using (var touch = new NpgsqlCommand("UPDATE alto.reconcile_run SET updated_at = $2 WHERE id = $1", connection, transaction))
        {
            touch.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            touch.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            await touch.ExecuteNonQueryAsync();
        }
        long pending;
        await using (var count = new NpgsqlCommand(CountPending, connection, transaction))
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

    /// <summary>
    /// Takes back the escaped paths the census could not ask a host about (its agent does not read
    /// them): they wait for no answer, and those of records are counted as unchecked. Returns how
    /// many paths were taken back.
    /// </summary>
    public async Task<int> LeaveEscapedUncheckedAsync(Guid runId, Guid hostId)
    {
        await using var command = db.CreateCommand($"""
            WITH taken AS (DELETE FROM alto.reconcile_stub WHERE run_id = $1 AND host_id = $2 AND path_escaped AND found IS NULL RETURNING host_id, tier_object_id),
            {CountTaken}
            SELECT count(*) FROM taken
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        return (int)(long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The hosts whose answers about escaped paths the census still waits for.</summary>
    public async Task<List<Guid>> HostsOwingEscapedAsync(Guid runId)
    {
        await using var command = db.CreateCommand("SELECT DISTINCT host_id FROM alto.reconcile_stub WHERE run_id = $1 AND path_escaped AND found IS NULL");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        var hosts = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            hosts.Add(reader.GetGuid(0));
        }
        return hosts;
    }

    /// <summary>
    /// Takes back the paths still waiting for the answer of a host not heard from since
    /// <paramref name="awayBefore"/> (gone offline for good, or for longer than the run waits): those
    /// of records are counted as unchecked. Returns how many paths each such host left unanswered,
    /// and how many of other hosts' paths still wait.
    /// </summary>
    public async Task<(Dictionary<Guid, long> Left, long StillPending)> LeaveUnansweredUncheckedAsync(Guid runId, DateTimeOffset awayBefore)
    {
        await using var command = db.CreateCommand($"""
            WITH taken AS (DELETE FROM alto.reconcile_stub s
                           WHERE s.run_id = $1 AND s.found IS NULL
                             AND NOT EXISTS (SELECT 1 FROM alto.host h WHERE h.id = s.host_id AND h.last_heartbeat_at >= $2)
                           RETURNING s.host_id, s.tier_object_id),
            {CountTaken},
                 waiting AS ({CountPending})
            SELECT host_id, count(*), (SELECT count FROM waiting) - (SELECT count(*) FROM taken) FROM taken GROUP BY host_id
            UNION ALL
            SELECT NULL, 0, (SELECT count FROM waiting) WHERE NOT EXISTS (SELECT 1 FROM taken)
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = awayBefore });
        var left = new Dictionary<Guid, long>();
        long stillPending = 0;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            if (!await reader.IsDBNullAsync(0))
            {
                left[reader.GetGuid(0)] = reader.GetInt64(1);
            }
            stillPending = reader.GetInt64(2);
        }
        return (left, stillPending);
    }

    /// <summary>How many of a run's census paths (<c>$1</c>) still wait for their host's answer.</summary>
    private const string CountPending = "SELECT count(*) FROM alto.reconcile_stub WHERE run_id = $1 AND found IS NULL";

    /// <summary>The statement's part that counts the paths taken back that are records' as unchecked (the run's own count).</summary>
    private const string CountTaken =
        "counted AS (UPDATE alto.reconcile_run SET census_unchecked = census_unchecked + (SELECT count(tier_object_id) FROM taken) WHERE id = $1)";

    /// <summary>How many of the census's paths still wait for their host's answer.</summary>
    public async Task<long> PendingAsync(Guid runId)
    {
        await using var command = db.CreateCommand(CountPending);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>How many of the target's stubs went unchecked: their host was not online when the census began, or a Windows host whose agent does not answer a census, its agent could not be asked about names that are not UTF-8, or it never answered.</summary>
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
