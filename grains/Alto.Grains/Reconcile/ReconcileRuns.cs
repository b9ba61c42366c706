using Alto.Audit;
using Alto.GrainInterfaces.Reconcile;
using Alto.Scanning;
using Npgsql;
using NpgsqlTypes;
using static Alto.Grains.Reconcile.ReconcileSql;

namespace Alto.Grains.Reconcile;

/// <summary>alto.reconcile_run, what its listing may have found (alto.reconcile_object) and its findings, written only by the run's grain.</summary>
public sealed class ReconcileRuns(NpgsqlDataSource db)
{
    private const string RunColumns = """
        id, tenant_id, target_id, host_id, depth, sample_percent, requests_per_second, status, cursor_key,
        objects_listed, objects_checked, counts::text, error, started_at, finished_at, allow_mass_loss,
        orphan_grace_days, reclaim_orphans, reclaim_before
        """;

    /// <summary>Whether the target is the tenant's and enabled.</summary>
    public async Task<bool> TargetIsTenantsAsync(Guid tenantId, Guid targetId)
    {
        await using var command = db.CreateCommand("SELECT EXISTS (SELECT 1 FROM alto.storage_target WHERE id = $1 AND tenant_id = $2 AND enabled)");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The tenant's orphan policy: days of grace, and whether runs reclaim orphans past it.</summary>
    public async Task<(int GraceDays, bool Reclaim)> OrphanPolicyAsync(Guid tenantId)
    {
        await using var command = db.CreateCommand("SELECT orphan_grace_days, reclaim_orphans FROM alto.tenant WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetInt32(0), reader.GetBoolean(1)) : (GrainInterfaces.Tenants.TenantDefaults.OrphanGraceDays, false);
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
    /// <summary>Makes the run's row, with the audit entry of its start in the same transaction; false when another run holds the target.</summary>
    public async Task<bool> InsertAsync(ReconcileRunInfo run, string requestedBy, AuditEntry started)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand("""
            INSERT INTO alto.reconcile_run (id, tenant_id, target_id, host_id, depth, sample_percent, requests_per_second, status, requested_by, started_at, updated_at,
                                            allow_mass_loss, orphan_grace_days, reclaim_orphans)
            VALUES ($1, $2, $3, $4, $5, $6, $7, 'listing', $8, $9, $9, $10, $11, $12)
            ON CONFLICT DO NOTHING
            """, connection, transaction);
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
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = run.OrphanGraceDays });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = run.ReclaimOrphans });
        if (await command.ExecuteNonQueryAsync() != 1)
        {
            return false;
        }
        await AuditLog.AppendAsync(connection, transaction, started, CancellationToken.None);
        await transaction.CommitAsync();
        return true;
    }

    /// <summary>The run at work on the target now (listing, census or reclaiming), if any, and when it last heard from an agent.</summary>
    public async Task<(Guid RunId, DateTimeOffset UpdatedAt)?> ListingRunOfAsync(Guid targetId)
    {
        await using var command = db.CreateCommand("SELECT id, updated_at FROM alto.reconcile_run WHERE target_id = $1 AND status IN ('listing', 'census', 'reclaiming')");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetGuid(0), await reader.GetFieldValueAsync<DateTimeOffset>(1)) : null;
    }

    /// <summary>When the run last heard from an agent (a part of its listing, a census report, a reclaim), or null if there is no such run.</summary>
    public async Task<DateTimeOffset?> LastHeardAsync(Guid runId)
    {
        await using var command = db.CreateCommand("SELECT updated_at FROM alto.reconcile_run WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        return await command.ExecuteScalarAsync() is DateTime heard ? new DateTimeOffset(heard, TimeSpan.Zero) : null;
    }

    /// <summary>Whether the host's agent has sent a heartbeat since <paramref name="since"/>.</summary>
    public async Task<bool> HostHeardSinceAsync(Guid hostId, DateTimeOffset since)
    {
        await using var command = db.CreateCommand("SELECT EXISTS (SELECT 1 FROM alto.host WHERE id = $1 AND last_heartbeat_at >= $2)");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = since });
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    public async Task<ReconcileRunInfo?> ReadAsync(Guid runId)
    {
        await using var command = db.CreateCommand($"SELECT {RunColumns} FROM alto.reconcile_run WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? ReadRun(reader) : null;
    }

    /// <summary>
    /// Takes a part of the listing if it follows the cursor (one transaction, the run's row
    /// locked): the part is compared with the records of its key range (see
    /// <see cref="ComparePartAsync"/>), the cursor moved to its last key, the counts kept.
    /// </summary>
    public async Task<ListingPartOutcome> AppendAsync(ReconcileRunInfo run, ListingPart part, DateTimeOffset now)
    {
        var objects = part.Entries;
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        string? cursor;
        string status;
        await using (var read = new NpgsqlCommand("SELECT cursor_key, status FROM alto.reconcile_run WHERE id = $1 FOR UPDATE", connection, transaction))
        {
            read.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.RunId });
            await using var reader = await read.ExecuteReaderAsync();
            await reader.ReadAsync();
            (cursor, status) = (await reader.IsDBNullAsync(0) ? null : reader.GetString(0), reader.GetString(1));
        }
        if (status != ReconcileRunInfo.Listing)
        {
            return ListingPartOutcome.Ended;
        }
        if (part.After != cursor)
        {
            // A part that ends at or before the cursor was taken already; anything else skips ahead of it.
            var last = objects.Count == 0 ? part.After : objects[^1].Key;
            return cursor is not null && (last is null || string.CompareOrdinal(last, cursor) <= 0) ? ListingPartOutcome.Duplicate : ListingPartOutcome.OutOfOrder;
        }
        // A part that failed ends the run: what it holds is not compared.
        if (part.Failure is null && (objects.Count > 0 || part.Finished))
        {
            await ComparePartAsync(connection, transaction, run, part);
        }
        await using (var move = new NpgsqlCommand("""
            UPDATE alto.reconcile_run SET cursor_key = coalesce($2, cursor_key), batches = batches + 1, objects_listed = objects_listed + $3,
                   objects_checked = objects_checked + $4, updated_at = $5
            WHERE id = $1
            """, connection, transaction))
        {
            move.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.RunId });
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
    /// Compares a part with the tenant's records on the target whose keys fall in the part's range
    /// (after its 'after', up to its last key; the last part's range is open above, so together
    /// the parts cover every key) and keeps what may be a finding in alto.reconcile_object: an
    /// object no record names (an orphan, unless a stub turns up in the census), an object with a
    /// problem or shorter or longer than a plain copy of its STUBBED record's file, a STUBBED
    /// record whose object is not listed, and every LOST record with what the listing holds of it.
    /// The classification judges these against the records as they are when the listing ends.
    /// Nothing is kept of a healthy object: a part of thousands leaves a handful of rows.
    /// </summary>
    private static async Task ComparePartAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ReconcileRunInfo run, ListingPart part)
    {
        var objects = part.Entries;
        // The range is ordinal (the agent lists in byte order): compared in the "C" collation, which the records' index has.
        var range = (part.After is null ? "" : """ AND t.locator COLLATE "C" > $8""")
                    + (part.Finished ? "" : """ AND t.locator COLLATE "C" <= $9""");
        await using var compare = new NpgsqlCommand($"""
            INSERT INTO alto.reconcile_object (run_id, key, length, modified, problem, tier_object_id, listed)
            SELECT $1, coalesce(p.key, r.locator), coalesce(p.length, 0), p.modified, p.problem, r.id, p.key IS NOT NULL
            FROM unnest($4::text[], $5::bigint[], $6::timestamptz[], $7::text[]) AS p(key, length, modified, problem)
            FULL JOIN (SELECT t.id, t.locator, t.state, t.size_bytes FROM alto.tier_object t
                       WHERE t.target_id = $3 AND t.tenant_id = $2 AND t.locator IS NOT NULL{range}) r ON r.locator = p.key
            WHERE r.id IS NULL OR r.state = 'LOST'
               -- A plain copy (its key is the file's own hash) holds exactly the file's bytes; an encoded one is checked by hash only.
               -- The range is read from the index alone (migration 0028); the hash is fetched only for an object of the wrong length.
               OR (r.state = 'STUBBED' AND (p.key IS NULL OR p.problem IS NOT NULL
                   OR (p.length <> r.size_bytes AND (SELECT h.hash FROM alto.tier_object h WHERE h.id = r.id) = right(r.locator, 64))))
            """, connection, transaction);
        AddRunScope(compare.Parameters, run, 3);
        compare.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. objects.Select(item => item.Key)] });
        compare.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. objects.Select(item => item.Length)] });
        compare.Parameters.Add(new NpgsqlParameter<DateTime?[]>
        {
            TypedValue = [.. objects.Select(item => item.Modified?.UtcDateTime)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz,
        });
        compare.Parameters.Add(Texts(objects.Select(item => item.Problem)));
        compare.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = part.After, NpgsqlDbType = NpgsqlDbType.Text });
        compare.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = objects.Count == 0 ? part.After : objects[^1].Key, NpgsqlDbType = NpgsqlDbType.Text });
        await compare.ExecuteNonQueryAsync();
    }

    /// <summary>Ends the run (one transaction): its findings, counts and status, and the audit entry that says how it ended; its listing and census are dropped.</summary>
    public Task FinishAsync(Guid runId, string status, string? error, IReadOnlyList<ReconcileFinding> findings, IReadOnlyDictionary<string, long> counts, DateTimeOffset now,
        AuditEntry ended) =>
        SettleAsync(runId, status, error, findings, counts, now, reclaimBefore: null, ended);

    /// <summary>
    /// Classification done, orphans to delete (one transaction): the findings and counts are kept,
    /// the listing and census dropped, and the run waits for its agent's reclaim reports.
    /// </summary>
    public Task BeginReclaimAsync(Guid runId, IReadOnlyList<ReconcileFinding> findings, IReadOnlyDictionary<string, long> counts, DateTimeOffset before, DateTimeOffset now) =>
        SettleAsync(runId, ReconcileRunInfo.Reclaiming, null, findings, counts, now, before, entry: null);

    private async Task SettleAsync(Guid runId, string status, string? error, IReadOnlyList<ReconcileFinding> findings, IReadOnlyDictionary<string, long> counts,
        DateTimeOffset now, DateTimeOffset? reclaimBefore, AuditEntry? entry)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (findings.Count > 0)
        {
            await using var insert = new NpgsqlCommand("""
                INSERT INTO alto.reconcile_finding (run_id, tenant_id, class, kind, object_key, tier_object_id, host_id, path, detail, repair, reclaim, found_at)
                SELECT $1, r.tenant_id, f.class, f.kind, f.object_key, f.tier_object_id, f.host_id, f.path, f.detail, f.repair, f.reclaim, $2
                FROM alto.reconcile_run r,
                     unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[])
                         AS f(class, kind, object_key, tier_object_id, host_id, path, detail, repair, reclaim)
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
            insert.Parameters.Add(Texts(findings.Select(f => f.Reclaim)));
            await insert.ExecuteNonQueryAsync();
        }
        await using (var end = new NpgsqlCommand("""
            UPDATE alto.reconcile_run SET status = $2, error = $3, counts = $4::jsonb, updated_at = $5,
                   finished_at = CASE WHEN $2 IN ('completed', 'failed', 'cancelled') THEN $5 END, reclaim_before = coalesce($6, reclaim_before)
            WHERE id = $1
            """, connection, transaction))
        {
            end.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            end.Parameters.Add(new NpgsqlParameter<string> { TypedValue = status });
            end.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = error, NpgsqlDbType = NpgsqlDbType.Text });
            end.Parameters.Add(new NpgsqlParameter<string> { TypedValue = System.Text.Json.JsonSerializer.Serialize(counts) });
            end.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            end.Parameters.Add(new NpgsqlParameter<DateTimeOffset?> { TypedValue = reclaimBefore, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            await end.ExecuteNonQueryAsync();
        }
        foreach (var table in new[] { "alto.reconcile_object", "alto.reconcile_stub" })
        {
            await using var drop = new NpgsqlCommand($"DELETE FROM {table} WHERE run_id = $1", connection, transaction);
            drop.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = runId });
            await drop.ExecuteNonQueryAsync();
        }
        if (entry is not null)
        {
            await AuditLog.AppendAsync(connection, transaction, entry, CancellationToken.None);
        }
        await transaction.CommitAsync();
    }

    public static string DepthName(ReconcileDepth depth) => depth.ToString().ToLowerInvariant();

    private static ReconcileRunInfo ReadRun(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.IsDBNull(3) ? null : reader.GetGuid(3),
        Enum.Parse<ReconcileDepth>(reader.GetString(4), ignoreCase: true), reader.GetInt32(5), reader.GetInt32(6), reader.GetString(7),
        reader.IsDBNull(8) ? null : reader.GetString(8), reader.GetInt64(9), reader.GetInt64(10),
        System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, long>>(reader.GetString(11)) ?? [],
        reader.IsDBNull(12) ? null : reader.GetString(12), new DateTimeOffset(reader.GetDateTime(13), TimeSpan.Zero),
        reader.IsDBNull(14) ? null : new DateTimeOffset(reader.GetDateTime(14), TimeSpan.Zero), reader.GetBoolean(15),
        reader.GetInt32(16), reader.GetBoolean(17), reader.IsDBNull(18) ? null : new DateTimeOffset(reader.GetDateTime(18), TimeSpan.Zero));
}
