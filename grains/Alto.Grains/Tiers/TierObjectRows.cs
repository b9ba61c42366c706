using Alto.GrainInterfaces.Tiers;
using Npgsql;

namespace Alto.Grains.Tiers;

/// <summary>A tier object as stored: the state-machine part and the facts around it.</summary>
public sealed record TierObjectRow(
    long Id, Guid TenantId, Guid HostId, long FileCurrentId, string FullPath, Guid? RuleId, Guid? TargetId, Guid? JobId, long SizeBytes,
    TierObjectSnapshot Snapshot)
{
    /// <summary>The agent report whose event this object applied last (a repeat of it is no change).</summary>
    public string? LastReportId { get; init; }

    public TierObjectInfo ToInfo() => new(
        Id, TenantId, HostId, FileCurrentId, FullPath, Snapshot.State, RuleId, TargetId, JobId, SizeBytes, Snapshot.Attempts, Snapshot.LastError,
        Snapshot.Hash, Snapshot.Locator, Snapshot.NextAttemptAt, Snapshot.ActedAt, Snapshot.LastAccessedAt, Snapshot.AccessCount);
}

/// <summary>Reads and writes alto.tier_object rows for <see cref="TierObjectLedger"/>, a batch at a time.</summary>
public static class TierObjectRows
{
    private const string Columns = """
        id, tenant_id, host_id, file_current_id, full_path, rule_id, target_id, job_id, size_bytes,
        state, attempts, last_error, failed_during, next_attempt_utc, planned_utc, acted_utc, hash, locator, last_accessed_utc, access_count,
        last_report_id
        """;

    public static async Task<TierObjectRow?> ReadAsync(NpgsqlConnection connection, long id, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM alto.tier_object WHERE id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Map(reader) : null;
    }

    /// <summary>The rows of <paramref name="ids"/> that exist, locked for update in id order (two batches never wait on each other crosswise).</summary>
    public static async Task<List<TierObjectRow>> LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long[] ids, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT {Columns} FROM alto.tier_object WHERE id = ANY($1) ORDER BY id FOR UPDATE", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = ids });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<TierObjectRow>(ids.Length);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(Map(reader));
        }
        return rows;
    }

    /// <summary>The current row of the reader (after ReadAsync; the values are already buffered).</summary>
    private static TierObjectRow Map(NpgsqlDataReader reader)
    {
        var snapshot = new TierObjectSnapshot(
            State: Enum.Parse<TierState>(reader.GetString(9), ignoreCase: true),
            Attempts: reader.GetInt32(10),
            LastError: reader.IsDBNull(11) ? null : reader.GetString(11),
            FailedDuring: reader.IsDBNull(12) || reader.GetString(12) == "tiering" ? TierPhase.Tiering : TierPhase.Recall,
            NextAttemptAt: Time(reader, 13),
            PlannedAt: Time(reader, 14),
            ActedAt: Time(reader, 15),
            Hash: reader.IsDBNull(16) ? null : reader.GetString(16),
            Locator: reader.IsDBNull(17) ? null : reader.GetString(17),
            LastAccessedAt: Time(reader, 18),
            AccessCount: reader.GetInt64(19));
        return new TierObjectRow(
            reader.GetInt64(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetInt64(3), reader.GetString(4),
            reader.IsDBNull(5) ? null : reader.GetGuid(5), reader.IsDBNull(6) ? null : reader.GetGuid(6), reader.IsDBNull(7) ? null : reader.GetGuid(7),
            reader.GetInt64(8), snapshot)
        {
            LastReportId = reader.IsDBNull(20) ? null : reader.GetString(20),
        };
    }

    /// <summary>Writes the life-cycle part of every row given, in one statement.</summary>
    public static async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, TierObjectRow[] rows, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            UPDATE alto.tier_object t
            SET state = r.state, attempts = r.attempts, last_error = r.last_error, failed_during = r.failed_during,
                next_attempt_utc = r.next_attempt, planned_utc = r.planned, acted_utc = r.acted, hash = r.hash, locator = r.locator,
                last_accessed_utc = r.last_accessed, access_count = r.access_count, last_report_id = r.report, updated_utc = now(),
                -- The file's names as the inventory knows them now: a hard-linked file's object counts once in the summaries.
                links = coalesce((SELECT f.links FROM alto.file_current f WHERE f.file_current_id = t.file_current_id), t.links)
            FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::timestamptz[],
                        $9::text[], $10::text[], $11::timestamptz[], $12::bigint[], $13::text[])
                 AS r(id, state, attempts, last_error, failed_during, next_attempt, planned, acted, hash, locator, last_accessed, access_count, report)
            WHERE t.id = r.id
            """, connection, transaction);
        var states = rows.Select(row => row.Snapshot).ToArray();
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. rows.Select(row => row.Id)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. states.Select(state => StateName(state.State))] });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. states.Select(state => state.Attempts)] });
        command.Parameters.Add(Texts(states.Select(state => state.LastError)));
        command.Parameters.Add(Texts(states.Select(state =>
            state.State == TierState.Failed ? (state.FailedDuring == TierPhase.Recall ? "recall" : "tiering") : null)));
        command.Parameters.Add(Times(states.Select(state => state.NextAttemptAt)));
        command.Parameters.Add(Times(states.Select(state => state.PlannedAt)));
        command.Parameters.Add(Times(states.Select(state => state.ActedAt)));
        command.Parameters.Add(Texts(states.Select(state => state.Hash)));
        command.Parameters.Add(Texts(states.Select(state => state.Locator)));
        command.Parameters.Add(Times(states.Select(state => state.LastAccessedAt)));
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. states.Select(state => state.AccessCount)] });
        command.Parameters.Add(Texts(rows.Select(row => row.LastReportId)));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static string StateName(TierState state) => state.ToString().ToUpperInvariant();

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : new DateTimeOffset(reader.GetDateTime(ordinal), TimeSpan.Zero);

    private static NpgsqlParameter Texts(IEnumerable<string?> values) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text };

    private static NpgsqlParameter Times(IEnumerable<DateTimeOffset?> values) => new()
    {
        Value = values.Select(value => value?.UtcDateTime).ToArray(),
        NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.TimestampTz,
    };
}
