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

/// <summary>Reads and writes alto.tier_object rows for <see cref="TierObjectGrain"/>.</summary>
public static class TierObjectRows
{
    private const string Columns = """
        id, tenant_id, host_id, file_current_id, full_path, rule_id, target_id, job_id, size_bytes,
        state, attempts, last_error, failed_during, next_attempt_utc, planned_utc, acted_utc, hash, locator, last_accessed_utc, access_count,
        last_report_id
        """;

    public static async Task<TierObjectRow?> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long id, bool forUpdate, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT {Columns} FROM alto.tier_object WHERE id = $1{(forUpdate ? " FOR UPDATE" : "")}", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return Map(reader);
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

    public static async Task WriteAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long id, TierObjectSnapshot state, string? reportId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            UPDATE alto.tier_object
            SET state = $2, attempts = $3, last_error = $4, failed_during = $5, next_attempt_utc = $6, planned_utc = $7, acted_utc = $8,
                hash = $9, locator = $10, last_accessed_utc = $11, access_count = $12, last_report_id = coalesce($13, last_report_id), updated_utc = now()
            WHERE id = $1
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = StateName(state.State) });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = state.Attempts });
        command.Parameters.Add(Nullable(state.LastError));
        command.Parameters.Add(Nullable(state.State == TierState.Failed ? (state.FailedDuring == TierPhase.Recall ? "recall" : "tiering") : null));
        command.Parameters.Add(Nullable(state.NextAttemptAt));
        command.Parameters.Add(Nullable(state.PlannedAt));
        command.Parameters.Add(Nullable(state.ActedAt));
        command.Parameters.Add(Nullable(state.Hash));
        command.Parameters.Add(Nullable(state.Locator));
        command.Parameters.Add(Nullable(state.LastAccessedAt));
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = state.AccessCount });
        command.Parameters.Add(Nullable(reportId));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static string StateName(TierState state) => state.ToString().ToUpperInvariant();

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : new DateTimeOffset(reader.GetDateTime(ordinal), TimeSpan.Zero);

    private static NpgsqlParameter Nullable(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text };

    private static NpgsqlParameter Nullable(DateTimeOffset? value) =>
        new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz };
}
