using Alto.GrainInterfaces.Reconcile;
using Npgsql;
using static Alto.Grains.Reconcile.ReconcileSql;

namespace Alto.Grains.Reconcile;

/// <summary>What one comparison of a run's listing with the records found.</summary>
/// <param name="Missing">STUBBED records whose object is absent, short or damaged, by record id.</param>
/// <param name="FoundAgain">LOST records whose object the listing holds whole again.</param>
/// <param name="StillLost">LOST records whose object the listing still lacks (or holds damaged or short): candidates for a re-tier from a copy.</param>
/// <param name="Orphans">Listed objects no record references, by key.</param>
public sealed record ComparisonResult(List<MissingObject> Missing, List<FoundObject> FoundAgain, List<long> StillLost, List<OrphanObject> Orphans);

/// <summary>The set-wise comparison of a run's listing (and census) with the tier-object records: what is missing, orphaned, or whole again.</summary>
public sealed class ReconcileComparison(NpgsqlDataSource db)
{
    /// <summary>
    /// Judges what the parts of the listing left (see <see cref="ReconcileRuns.AppendAsync"/>)
    /// against the records as they are now. Missing: STUBBED records, stubbed before the run began
    /// (so their objects were there to be listed) and not settled by the census, whose object the
    /// listing lacks, holds with another length than a plain copy of the file has, or found
    /// damaged. Orphans: listed objects no record of the tenant on the target references (then or
    /// now), nor a stub a host holds (its record is gone: the object is that stub's data). A record
    /// whose object changed since its part was compared is not judged from that part.
    /// </summary>
    public async Task<ComparisonResult> CompareAsync(ReconcileRunInfo run, IReadOnlyCollection<long> settled)
    {
        await using var command = db.CreateCommand($"""
            SELECT r.id, r.host_id, r.full_path, r.locator, r.state, r.hash = right(r.locator, 64), r.size_bytes,
                   CASE WHEN o.listed THEN o.key END, o.length, o.modified, o.problem
            FROM alto.reconcile_object o
            LEFT JOIN alto.tier_object r ON r.id = o.tier_object_id AND r.tenant_id = $2 AND r.target_id = $3 AND r.locator = o.key
            WHERE o.run_id = $1
              AND (o.tier_object_id IS NULL
                       AND {Unreferenced("o.key")}
                   OR r.state = 'LOST'
                   OR (r.state = 'STUBBED' AND r.acted_utc < $4 AND NOT r.id = ANY($5)
                       AND (NOT o.listed OR o.problem IS NOT NULL OR (r.hash = right(r.locator, 64) AND o.length <> r.size_bytes))))
            """);
        AddRunScope(command, run);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = run.StartedAt });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. settled] });
        var result = new ComparisonResult([], [], [], []);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                Sort(reader, result);
            }
        }
        result.Missing.Sort((left, right) => left.TierObjectId.CompareTo(right.TierObjectId));
        result.FoundAgain.Sort((left, right) => left.TierObjectId.CompareTo(right.TierObjectId));
        result.StillLost.Sort();
        result.Orphans.Sort((left, right) => string.CompareOrdinal(left.Key, right.Key));
        return result;
    }

    /// <summary>Puts one row of the comparison where it belongs.</summary>
    private static void Sort(NpgsqlDataReader reader, ComparisonResult result)
    {
        var listed = !reader.IsDBNull(7);
        var (length, problem) = listed ? (reader.GetInt64(8), reader.IsDBNull(10) ? null : reader.GetString(10)) : (0L, null);
        if (reader.IsDBNull(0))
        {
            result.Orphans.Add(new OrphanObject(reader.GetString(7), length, reader.IsDBNull(9) ? null : new DateTimeOffset(reader.GetDateTime(9), TimeSpan.Zero), problem));
            return;
        }
        var (id, hostId, path, locator) = (reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3));
        var (plain, size) = (reader.GetBoolean(5), reader.GetInt64(6));
        var shortCopy = listed && plain && length != size;
        if (reader.GetString(4) == "LOST")
        {
            if (listed && problem is null && !shortCopy)
            {
                result.FoundAgain.Add(new FoundObject(id, hostId, path));
            }
            else
            {
                result.StillLost.Add(id);
            }
            return;
        }
        result.Missing.Add(!listed ? new MissingObject(id, hostId, path, locator, "absent", $"the object {locator} is not on the target")
            : shortCopy ? new MissingObject(id, hostId, path, locator, "short", $"the object holds {length} bytes; the file had {size}")
            : new MissingObject(id, hostId, path, locator, "damaged", problem!));
    }

    /// <summary>
    /// The objects of records this run closed (their stubs were gone) that nothing references now:
    /// orphans, though their part found them referenced. What the part kept of an object (its
    /// length and problem, or that it was not listed: then it is no orphan) counts; of a healthy
    /// one nothing was kept, and its file's size stands for its length. Its time is the closing:
    /// its grace period starts when it lost its last reference, never earlier.
    /// </summary>
    public async Task<List<OrphanObject>> FreedObjectsAsync(ReconcileRunInfo run, IReadOnlyList<Tiers.TierObjectInfo> closed, IReadOnlyList<OrphanObject> known, DateTimeOffset now)
    {
        var candidates = closed.Where(record => record.TargetId == run.TargetId && record.Locator is not null)
            .ExceptBy(known.Select(orphan => orphan.Key), record => record.Locator!).DistinctBy(record => record.Locator).ToList();
        if (candidates.Count == 0)
        {
            return [];
        }
        await using var command = db.CreateCommand($"""
            SELECT f.key, f.size, o.length, o.problem
            FROM unnest($4::text[], $5::bigint[]) AS f(key, size)
            LEFT JOIN LATERAL (SELECT listed, length, problem FROM alto.reconcile_object WHERE run_id = $1 AND key = f.key LIMIT 1) o ON true
            WHERE o.listed IS NOT false
              AND {Unreferenced("f.key")}
            """);
        AddRunScope(command, run);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. candidates.Select(record => record.Locator!)] });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. candidates.Select(record => record.SizeBytes)] });
        var freed = new List<OrphanObject>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var length = await reader.IsDBNullAsync(2) ? reader.GetInt64(1) : reader.GetInt64(2);
            freed.Add(new OrphanObject(reader.GetString(0), length, now, await reader.IsDBNullAsync(3) ? null : reader.GetString(3)));
        }
        return freed;
    }

    /// <summary>
    /// The orphan rule, for an object key in <paramref name="key"/>: no record of the run's tenant
    /// on its target names it ($1 run, $2 tenant, $3 target), nor a stub the census found.
    /// </summary>
    private static string Unreferenced(string key) => $"""
        NOT EXISTS (SELECT 1 FROM alto.tier_object t WHERE t.target_id = $3 AND t.locator COLLATE "C" = {key} AND t.tenant_id = $2)
        AND NOT EXISTS (SELECT 1 FROM alto.reconcile_stub s WHERE s.run_id = $1 AND s.found = 'stub' AND s.locator = {key})
        """;

    /// <summary>How many of the tenant's records on the target are STUBBED.</summary>
    public async Task<long> StubbedCountAsync(ReconcileRunInfo run)
    {
        await using var command = db.CreateCommand("SELECT count(*) FROM alto.tier_object WHERE tenant_id = $1 AND target_id = $2 AND state = 'STUBBED'");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.TenantId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = run.TargetId });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
