using Alto.Grains.Scans;
using Alto.Scanning;
using Npgsql;

namespace Alto.Grains.Hosts;

/// <summary>Which stubs a recall selects: by path, below a directory or by rule, with paths compared as the host spells them.</summary>
public sealed record RecallSelectionQuery(string[]? Paths, string? Directory, Guid? RuleId, PathFlavor Flavor = PathFlavor.Posix);

/// <summary>
/// The host's tier objects as its grain looks for them: the stubs a recall selects, the failed
/// files due for a retry or used up, the objects of reported paths, and stubs a scan found holding
/// their data again. Reads only; the moves go through the <see cref="Tiers.TierObjectLedger"/>.
/// </summary>
public sealed class HostTierObjects(NpgsqlDataSource db)
{
    /// <summary>
    /// Paths of the host's stubs a recall selects (stubbed tier objects only), at most
    /// <paramref name="limit"/>, each with whether it is escaped (a name that is not UTF-8).
    /// </summary>
    public async Task<(string Path, bool Escaped)[]> StubsToRecallAsync(Guid hostId, RecallSelectionQuery selection, int limit)
    {
        // A Windows host's paths are found whatever their case.
        var paths = new SqlPaths(selection.Flavor);
        await using var command = db.CreateCommand($$"""
            SELECT t.full_path, coalesce(f.path_escaped, false) FROM alto.tier_object t
            LEFT JOIN alto.file_current f ON f.file_current_id = t.file_current_id
            WHERE t.host_id = $1 AND t.state = 'STUBBED'
              AND ($2::text[] IS NULL OR {{paths.Key("t.full_path")}} = ANY(SELECT {{paths.Key("p")}} FROM unnest($2::text[]) p))
              AND ($3::text IS NULL OR {{paths.Below("t.full_path", "$3")}})
              AND ($4::uuid IS NULL OR t.rule_id = $4)
            ORDER BY t.full_path
            LIMIT $5
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)selection.Paths ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)selection.Directory ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)selection.RuleId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await using var reader = await command.ExecuteReaderAsync();
        var found = new List<(string, bool)>();
        while (await reader.ReadAsync())
        {
            found.Add((reader.GetString(0), reader.GetBoolean(1)));
        }
        return [.. found];
    }

    /// <summary>The host's files whose tiering failed on its last allowed attempt: to be abandoned.</summary>
    public async Task<long[]> ExhaustedAsync(Guid hostId, int maxAttempts)
    {
        await using var command = db.CreateCommand("""
            SELECT id FROM alto.tier_object
            WHERE host_id = $1 AND state = 'FAILED' AND failed_during = 'tiering' AND attempts >= $2
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = maxAttempts });
        return await ReadIdsAsync(command);
    }

    /// <summary>
    /// The host's files an admin may send on again (<paramref name="waiting"/>: abandoned, or held
    /// back from planning), all or those below <paramref name="directory"/> (compared as the host spells paths).
    /// </summary>
    public async Task<long[]> WaitingAsync(Guid hostId, WaitingFiles waiting, string? directory, PathFlavor flavor)
    {
        var paths = new SqlPaths(flavor);
        var which = waiting == WaitingFiles.Abandoned ? "state = 'ABANDONED'" : "state = 'SKIPPED' AND next_attempt_utc > now()";
        await using var command = db.CreateCommand($"""
            SELECT id FROM alto.tier_object
            WHERE host_id = $1 AND {which} AND ($2::text IS NULL OR {paths.Below("full_path", "$2")})
            ORDER BY id
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)directory ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        return await ReadIdsAsync(command);
    }

    private static async Task<long[]> ReadIdsAsync(NpgsqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<long>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetInt64(0));
        }
        return [.. ids];
    }

    /// <summary>
    /// When the host's retries next need the host: the earliest next attempt of a failed file, or
    /// now when a file used its last attempt (to be abandoned); null when nothing waits.
    /// </summary>
    public async Task<DateTimeOffset?> NextRetryAsync(Guid hostId, int maxAttempts)
    {
        await using var command = db.CreateCommand("""
            SELECT min(CASE WHEN attempts >= $2 THEN now() ELSE next_attempt_utc END)
            FROM alto.tier_object
            WHERE host_id = $1 AND state = 'FAILED' AND failed_during = 'tiering'
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = maxAttempts });
        return await command.ExecuteScalarAsync() is DateTime due ? new DateTimeOffset(DateTime.SpecifyKind(due, DateTimeKind.Utc)) : null;
    }

    /// <summary>
    /// The tier objects of the host's files at <paramref name="paths"/> (each with whether it is
    /// escaped, as the inventory holds a name that is not UTF-8), by path; a path without one is left out.
    /// </summary>
    public async Task<Dictionary<(string Path, bool Escaped), long>> FindTierObjectsAsync(Guid tenantId, Guid hostId, (string Path, bool Escaped)[] paths)
    {
        await using var command = db.CreateCommand("""
            SELECT f.full_path, f.path_escaped, t.id
            FROM unnest($3::text[], $4::boolean[]) AS p(full_path, path_escaped)
            JOIN alto.file_current f ON f.full_path = p.full_path AND f.path_escaped = p.path_escaped
            JOIN alto.tier_object t ON t.file_current_id = f.file_current_id
            WHERE f.tenant_id = $1 AND f.host_id = $2
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. paths.Select(path => path.Path)] });
        command.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. paths.Select(path => path.Escaped)] });
        await using var reader = await command.ExecuteReaderAsync();
        var found = new Dictionary<(string, bool), long>();
        while (await reader.ReadAsync())
        {
            found[(reader.GetString(0), reader.GetBoolean(1))] = reader.GetInt64(2);
        }
        return found;
    }

    /// <summary>
    /// Tier objects whose stub a scan after the stubbing found to hold its data again (its recall
    /// report never arrived): the scan saw the file without Alto's locator.
    /// </summary>
    public async Task<long[]> StubsFoundRecalledAsync(Guid hostId)
    {
        await using var command = db.CreateCommand("""
            SELECT t.id
            FROM alto.tier_object t JOIN alto.file_current f ON f.file_current_id = t.file_current_id
            WHERE t.host_id = $1 AND t.state IN ('STUBBED', 'RECALLING') AND NOT f.is_stub AND f.deleted_utc IS NULL
              AND f.last_scan_utc > t.acted_utc
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        return await ReadIdsAsync(command);
    }
}

/// <summary>Files that wait for an admin: abandoned after their last attempt, or held back from planning (declined, or refused by the agent).</summary>
public enum WaitingFiles
{
    Abandoned,
    Held,
}
