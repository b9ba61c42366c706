using Alto.GrainInterfaces.Reconcile;
using Npgsql;
using NpgsqlTypes;

namespace Alto.Grains.Reconcile;

/// <summary>A stubbed file whose tier-2 object a run found absent, short or damaged.</summary>
public sealed record MissingObject(long TierObjectId, Guid HostId, string Path, string Locator, string Kind, string Detail);

/// <summary>An object of the target no record references.</summary>
public sealed record OrphanObject(string Key, long Length, DateTimeOffset? Modified, string? Problem);

/// <summary>What the census found at a path that does not agree with the records (<see cref="Record"/> null: a stub no record knows).</summary>
public sealed record DriftItem(Guid HostId, string Path, long? Record, string Found, string? Locator, string? Sha256, string? Detail, string? RecordLocator, string? RecordHash);

/// <summary>A LOST record whose object a run found whole again.</summary>
public sealed record FoundObject(long TierObjectId, Guid HostId, string Path);

/// <summary>What a run found, kept as rows of alto.reconcile_finding.</summary>
public sealed record ReconcileFinding(string Class, string Kind, string? ObjectKey, long? TierObjectId, Guid? HostId, string? Path, string Detail, string Repair);

/// <summary>How a part of a listing fared against the run's cursor.</summary>
public enum ListingPartOutcome
{
    Appended = 0,
    /// <summary>Taken before (the agent sent it again after a lost answer): nothing changed.</summary>
    Duplicate = 1,
    /// <summary>Does not follow the cursor: the agent must resume after it.</summary>
    OutOfOrder = 2,
    /// <summary>The run is no longer listing.</summary>
    Ended = 3,
}

/// <summary>
/// alto.reconcile_run, its listing (alto.reconcile_object) and its findings, written only by the
/// run's grain; and the set-wise comparison of a listing with the tier-object records.
/// </summary>
public sealed class ReconcileRows(NpgsqlDataSource db)
{
    private const string RunColumns = """
        id, tenant_id, target_id, host_id, depth, sample_percent, requests_per_second, status, cursor_key,
        objects_listed, objects_checked, counts::text, error, started_at, finished_at, allow_mass_loss
        """;

    /// <summary>Whether the target is the tenant's and enabled.</summary>
    public async Task<bool> TargetIsTenantsAsync(Guid tenantId, Guid targetId)
    {
        await using var command = db.CreateCommand("SELECT EXISTS (SELECT 1 FROM alto.storage_target WHERE id = $1 AND tenant_id = $2 AND enabled)");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The online host of the tenant best placed to list the target: the one with the most records on it.</summary>
    public async Task<Guid?> ListingHostAsync(Guid tenantId, Guid targetId)
    {
        await using var command = db.CreateCommand("""
            SELECT h.id FROM alto.host h
            WHERE h.tenant_id = $1 AND h.status = 'online'
            ORDER BY (SELECT count(*) FROM alto.tier_object t WHERE t.host_id = h.id AND t.target_id = $2) DESC, h.last_heartbeat_at DESC NULLS LAST
            LIMIT 1
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
        return await command.ExecuteScalarAsync() as Guid?;
    }

    /// <summary>Inserts a new listing run; false when another run is listing the target already.</summary>
    public async Task<bool> InsertAsync(ReconcileRunInfo run, string requestedBy)
    {
        await using var command = db.CreateCommand("""
            INSERT INTO alto.reconcile_run (id, tenant_id, target_id, host_id, depth, sample_percent, requests_per_second, status, requested_by, started_at, updated_at,
                                            allow_mass_loss)
            VALUES ($1, $2, $3, $4, $5, $6, $7, 'listing', $8, $9, $9, $10)
            ON CONFLICT DO NOTHING
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.RunId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.TenantId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.TargetId });
        command.Parameters.Add(new NpgsqlParameter<Guid?> { TypedValue = run.HostId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = DepthName(run.Depth) });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = run.SamplePercent });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = run.RequestsPerSecond });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = requestedBy });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = run.StartedAt });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = run.AllowMassLoss });
        return await command.ExecuteNonQueryAsync() == 1;
    }

    /// <summary>The run listing the target now, if any, and when it last took a part.</summary>
    public async Task<(Guid RunId, DateTimeOffset UpdatedAt)?> ListingRunOfAsync(Guid targetId)
    {
        await using var command = db.CreateCommand("SELECT id, updated_at FROM alto.reconcile_run WHERE target_id = $1 AND status IN ('listing', 'census')");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetGuid(0), await reader.GetFieldValueAsync<DateTimeOffset>(1)) : null;
    }

    public async Task<ReconcileRunInfo?> ReadAsync(Guid runId)
    {
        await using var command = db.CreateCommand($"SELECT {RunColumns} FROM alto.reconcile_run WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? ReadRun(reader) : null;
    }

    /// <summary>
    /// Appends a part of the listing if it follows the cursor (one transaction, the run's row
    /// locked): its objects, the cursor moved to its last key, the counts.
    /// </summary>
    public async Task<ListingPartOutcome> AppendAsync(Guid runId, string? after, IReadOnlyList<ListedObject> objects, DateTimeOffset now)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        string? cursor;
        string status;
        await using (var read = new NpgsqlCommand("SELECT cursor_key, status FROM alto.reconcile_run WHERE id = $1 FOR UPDATE", connection, transaction))
        {
            read.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            await using var reader = await read.ExecuteReaderAsync();
            await reader.ReadAsync();
            (cursor, status) = (await reader.IsDBNullAsync(0) ? null : reader.GetString(0), reader.GetString(1));
        }
        if (status != ReconcileRunInfo.Listing)
        {
            return ListingPartOutcome.Ended;
        }
        if (after != cursor)
        {
            // A part that ends at or before the cursor was taken already; anything else skips ahead of it.
            var last = objects.Count == 0 ? after : objects[^1].Key;
            return cursor is not null && (last is null || string.CompareOrdinal(last, cursor) <= 0) ? ListingPartOutcome.Duplicate : ListingPartOutcome.OutOfOrder;
        }
        if (objects.Count > 0)
        {
            await using var insert = new NpgsqlCommand("""
                INSERT INTO alto.reconcile_object (run_id, key, length, modified, problem)
                SELECT $1, o.key, o.length, o.modified, o.problem FROM unnest($2::text[], $3::bigint[], $4::timestamptz[], $5::text[]) AS o(key, length, modified, problem)
                ON CONFLICT DO NOTHING
                """, connection, transaction);
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. objects.Select(o => o.Key)] });
            insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. objects.Select(o => o.Length)] });
            insert.Parameters.Add(new NpgsqlParameter<DateTime?[]> { TypedValue = [.. objects.Select(o => o.Modified?.UtcDateTime)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            insert.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. objects.Select(o => o.Problem)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            await insert.ExecuteNonQueryAsync();
        }
        await using (var move = new NpgsqlCommand("""
            UPDATE alto.reconcile_run SET cursor_key = coalesce($2, cursor_key), batches = batches + 1, objects_listed = objects_listed + $3,
                   objects_checked = objects_checked + $4, updated_at = $5
            WHERE id = $1
            """, connection, transaction))
        {
            move.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            move.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = objects.Count == 0 ? null : objects[^1].Key, NpgsqlDbType = NpgsqlDbType.Text });
            move.Parameters.Add(new NpgsqlParameter<long> { TypedValue = objects.Count });
            move.Parameters.Add(new NpgsqlParameter<long> { TypedValue = objects.Count(o => o.Checked) });
            move.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            await move.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
        return ListingPartOutcome.Appended;
    }

    /// <summary>
    /// Seeds the census and moves the run to it: the target's STUBBED and LOST records, and files
    /// the last scans saw as stubs that no record knows (their target is learnt from their markers);
    /// paths of hosts not online are marked unchecked. Returns the paths to ask each online host about.
    /// </summary>
    public async Task<Dictionary<Guid, string[]>> BeginCensusAsync(ReconcileRunInfo run, DateTimeOffset now)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var seed = new NpgsqlBatch(connection, transaction))
        {
            foreach (var sql in new[]
            {
                """
                INSERT INTO alto.reconcile_stub (run_id, host_id, path, tier_object_id)
                SELECT $1, t.host_id, t.full_path, t.id FROM alto.tier_object t
                WHERE t.tenant_id = $2 AND t.target_id = $3 AND t.state IN ('STUBBED', 'LOST')
                ON CONFLICT DO NOTHING
                """,
                """
                INSERT INTO alto.reconcile_stub (run_id, host_id, path)
                SELECT $1, f.host_id, f.full_path FROM alto.file_current f
                WHERE f.tenant_id = $2 AND f.is_stub AND f.deleted_utc IS NULL
                  AND NOT EXISTS (SELECT 1 FROM alto.tier_object t WHERE t.file_current_id = f.file_current_id AND t.state IN ('STUBBED', 'LOST', 'RECALLING'))
                ON CONFLICT DO NOTHING
                """,
                """
                UPDATE alto.reconcile_stub s SET found = 'unchecked', detail = 'the host was not online for the census'
                FROM alto.host h WHERE s.run_id = $1 AND h.id = s.host_id AND h.status <> 'online'
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

    /// <summary>How many census paths went unchecked (their host was not online).</summary>
    public async Task<long> UncheckedAsync(Guid runId)
    {
        await using var command = db.CreateCommand("SELECT count(*) FROM alto.reconcile_stub WHERE run_id = $1 AND found = 'unchecked'");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// STUBBED records on the target (stubbed before the run began, so their objects were there to
    /// be listed) whose object the listing lacks, holds with another length than a plain copy of the
    /// file has, or found damaged.
    /// </summary>
    public async Task<List<MissingObject>> MissingAsync(ReconcileRunInfo run, IReadOnlyCollection<long> settled)
    {
        await using var command = db.CreateCommand("""
            SELECT t.id, t.host_id, t.full_path, t.locator,
                   CASE WHEN o.key IS NULL THEN 'absent' WHEN t.hash = right(t.locator, 64) AND o.length <> t.size_bytes THEN 'short' ELSE 'damaged' END,
                   CASE WHEN o.key IS NULL THEN 'the object ' || t.locator || ' is not on the target'
                        WHEN t.hash = right(t.locator, 64) AND o.length <> t.size_bytes THEN 'the object holds ' || o.length || ' bytes; the file had ' || t.size_bytes
                        ELSE o.problem END
            FROM alto.tier_object t
            LEFT JOIN alto.reconcile_object o ON o.run_id = $1 AND o.key = t.locator
            WHERE t.tenant_id = $2 AND t.target_id = $3 AND t.state = 'STUBBED' AND t.locator IS NOT NULL AND t.acted_utc < $4
              AND (o.key IS NULL OR o.problem IS NOT NULL
                   -- A plain copy (its key is the file's own hash) holds exactly the file's bytes; an encoded one is checked by hash only.
                   OR (t.hash = right(t.locator, 64) AND o.length <> t.size_bytes))
              AND NOT t.id = ANY($5)
            ORDER BY t.id
            """);
        AddRunScope(command, run);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = run.StartedAt });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. settled] });
        var missing = new List<MissingObject>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            missing.Add(new MissingObject(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5)));
        }
        return missing;
    }

    /// <summary>How many of the tenant's records on the target are STUBBED.</summary>
    public async Task<long> StubbedCountAsync(ReconcileRunInfo run)
    {
        await using var command = db.CreateCommand("SELECT count(*) FROM alto.tier_object WHERE tenant_id = $1 AND target_id = $2 AND state = 'STUBBED'");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.TenantId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.TargetId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Listed objects no record of the tenant on the target references.</summary>
    public async Task<List<OrphanObject>> OrphansAsync(ReconcileRunInfo run)
    {
        await using var command = db.CreateCommand("""
            SELECT o.key, o.length, o.modified, o.problem
            FROM alto.reconcile_object o
            WHERE o.run_id = $1
              AND NOT EXISTS (SELECT 1 FROM alto.tier_object t WHERE t.target_id = $3 AND t.tenant_id = $2 AND t.locator = o.key)
              -- A stub on a host names it (its record is gone): the object is that stub's data, not an orphan.
              AND NOT EXISTS (SELECT 1 FROM alto.reconcile_stub s WHERE s.run_id = $1 AND s.found = 'stub' AND s.locator = o.key)
            ORDER BY o.key
            """);
        AddRunScope(command, run);
        var orphans = new List<OrphanObject>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            orphans.Add(ReadOrphan(reader));
        }
        return orphans;
    }

    /// <summary>LOST records on the target whose object the listing holds whole again.</summary>
    public async Task<List<FoundObject>> FoundAgainAsync(ReconcileRunInfo run)
    {
        await using var command = db.CreateCommand("""
            SELECT t.id, t.host_id, t.full_path
            FROM alto.tier_object t
            JOIN alto.reconcile_object o ON o.run_id = $1 AND o.key = t.locator
            WHERE t.tenant_id = $2 AND t.target_id = $3 AND t.state = 'LOST' AND o.problem IS NULL
              AND (t.hash <> right(t.locator, 64) OR o.length = t.size_bytes)
            ORDER BY t.id
            """);
        AddRunScope(command, run);
        var found = new List<FoundObject>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            found.Add(new FoundObject(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2)));
        }
        return found;
    }

    /// <summary>Ends the run (one transaction): its findings, counts and status; its listing and census are dropped.</summary>
    public async Task FinishAsync(Guid runId, string status, string? error, IReadOnlyList<ReconcileFinding> findings, IReadOnlyDictionary<string, long> counts, DateTimeOffset now)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (findings.Count > 0)
        {
            await using var insert = new NpgsqlCommand("""
                INSERT INTO alto.reconcile_finding (run_id, tenant_id, class, kind, object_key, tier_object_id, host_id, path, detail, repair, found_at)
                SELECT $1, r.tenant_id, f.class, f.kind, f.object_key, f.tier_object_id, f.host_id, f.path, f.detail, f.repair, $2
                FROM alto.reconcile_run r,
                     unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::uuid[], $8::text[], $9::text[], $10::text[])
                         AS f(class, kind, object_key, tier_object_id, host_id, path, detail, repair)
                WHERE r.id = $1
                ON CONFLICT DO NOTHING
                """, connection, transaction);
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            insert.Parameters.Add(Texts(findings.Select(f => (string?)f.Class)));
            insert.Parameters.Add(Texts(findings.Select(f => (string?)f.Kind)));
            insert.Parameters.Add(Texts(findings.Select(f => f.ObjectKey)));
            insert.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = [.. findings.Select(f => f.TierObjectId)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            insert.Parameters.Add(new NpgsqlParameter<Guid?[]> { TypedValue = [.. findings.Select(f => f.HostId)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
            insert.Parameters.Add(Texts(findings.Select(f => f.Path)));
            insert.Parameters.Add(Texts(findings.Select(f => (string?)f.Detail)));
            insert.Parameters.Add(Texts(findings.Select(f => (string?)f.Repair)));
            await insert.ExecuteNonQueryAsync();
        }
        await using (var end = new NpgsqlCommand(
            "UPDATE alto.reconcile_run SET status = $2, error = $3, counts = $4::jsonb, finished_at = $5, updated_at = $5 WHERE id = $1", connection, transaction))
        {
            end.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            end.Parameters.Add(new NpgsqlParameter<string> { TypedValue = status });
            end.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = error, NpgsqlDbType = NpgsqlDbType.Text });
            end.Parameters.Add(new NpgsqlParameter<string> { TypedValue = System.Text.Json.JsonSerializer.Serialize(counts) });
            end.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            await end.ExecuteNonQueryAsync();
        }
        foreach (var table in new[] { "alto.reconcile_object", "alto.reconcile_stub" })
        {
            await using var drop = new NpgsqlCommand($"DELETE FROM {table} WHERE run_id = $1", connection, transaction);
            drop.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            await drop.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
    }

    public static string DepthName(ReconcileDepth depth) => depth.ToString().ToLowerInvariant();

    private static void AddRunScope(NpgsqlCommand command, ReconcileRunInfo run) => AddRunScope(command.Parameters, run, 3);

    /// <summary>$1 the run, $2 its tenant, $3 its target: the first <paramref name="count"/> of them.</summary>
    private static void AddRunScope(NpgsqlParameterCollection parameters, ReconcileRunInfo run, int count)
    {
        foreach (var value in new[] { run.RunId, run.TenantId, run.TargetId }.Take(count))
        {
            parameters.Add(new NpgsqlParameter<Guid> { TypedValue = value });
        }
    }

    private static NpgsqlParameter<string?[]> Texts(IEnumerable<string?> values) =>
        new() { TypedValue = [.. values], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    private static DriftItem ReadDrift(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetInt64(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7),
        reader.IsDBNull(8) ? null : reader.GetString(8));

    private static OrphanObject ReadOrphan(NpgsqlDataReader reader) => new(reader.GetString(0), reader.GetInt64(1),
        reader.IsDBNull(2) ? null : new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero), reader.IsDBNull(3) ? null : reader.GetString(3));

    private static ReconcileRunInfo ReadRun(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.IsDBNull(3) ? null : reader.GetGuid(3),
        Enum.Parse<ReconcileDepth>(reader.GetString(4), ignoreCase: true), reader.GetInt32(5), reader.GetInt32(6), reader.GetString(7),
        reader.IsDBNull(8) ? null : reader.GetString(8), reader.GetInt64(9), reader.GetInt64(10),
        System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, long>>(reader.GetString(11)) ?? [],
        reader.IsDBNull(12) ? null : reader.GetString(12), new DateTimeOffset(reader.GetDateTime(13), TimeSpan.Zero),
        reader.IsDBNull(14) ? null : new DateTimeOffset(reader.GetDateTime(14), TimeSpan.Zero), reader.GetBoolean(15));
}
