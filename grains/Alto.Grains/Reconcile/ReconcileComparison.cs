using Alto.GrainInterfaces.Reconcile;
using Npgsql;
using static Alto.Grains.Reconcile.ReconcileSql;

namespace Alto.Grains.Reconcile;

/// <summary>The set-wise comparison of a run's listing (and census) with the tier-object records: what is missing, orphaned, or whole again.</summary>
public sealed class ReconcileComparison(NpgsqlDataSource db)
{
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

    /// <summary>LOST records on the target whose object the listing still lacks (or holds damaged or short): candidates for a re-tier from a copy.</summary>
    public async Task<List<long>> StillLostAsync(ReconcileRunInfo run)
    {
        await using var command = db.CreateCommand("""
            SELECT t.id
            FROM alto.tier_object t
            LEFT JOIN alto.reconcile_object o ON o.run_id = $1 AND o.key = t.locator
            WHERE t.tenant_id = $2 AND t.target_id = $3 AND t.state = 'LOST'
              AND (o.key IS NULL OR o.problem IS NOT NULL OR (t.hash = right(t.locator, 64) AND o.length <> t.size_bytes))
            ORDER BY t.id
            """);
        AddRunScope(command, run);
        var ids = new List<long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetInt64(0));
        }
        return ids;
    }

    private static OrphanObject ReadOrphan(NpgsqlDataReader reader) => new(reader.GetString(0), reader.GetInt64(1),
        reader.IsDBNull(2) ? null : new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero), reader.IsDBNull(3) ? null : reader.GetString(3));
}
