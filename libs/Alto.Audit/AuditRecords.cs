using System.Runtime.CompilerServices;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Alto.Audit;

/// <summary>One audit entry as the API, the SIEM export and the forwarder show it; <see cref="Seq"/> is its place in its chain.</summary>
public sealed record AuditRecord(
    long Seq, DateTimeOffset At, Guid? TenantId, string Actor, string Action, string ObjectType, string? ObjectId, string Outcome,
    Guid? HostId, string? Path, string? Origin, JsonElement Details, string? PrevHash, string Hash);

/// <summary>Reads audit entries: the column list and row mapping every reader shares, and a chain in order from a cursor.</summary>
public static class AuditRecords
{
    public const string Columns = """
        chain_seq, at, tenant_id, actor, action, object_type, object_id, outcome, host_id, path, origin, details::text,
        encode(prev_hash, 'hex'), encode(hash, 'hex')
        """;

    /// <summary>The chain's condition on $1 (the platform chain has no tenant; $1 is then null and unused).</summary>
    public static string Chain(Guid? tenantId) => tenantId is null ? "tenant_id IS NULL AND $1::uuid IS NULL" : "tenant_id = $1";

    /// <summary>
    /// Entries after <paramref name="after"/> in chain order, at most <paramref name="limit"/>. Numbers
    /// are handed out under the chain's lock and committed in order, so resuming after the last
    /// number received never skips an entry and never repeats one.
    /// </summary>
    public static async IAsyncEnumerable<AuditRecord> ReadChainAsync(
        NpgsqlDataSource db, Guid? tenantId, long after, int limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} FROM alto.audit_log WHERE {Chain(tenantId)} AND chain_seq > $2 ORDER BY chain_seq LIMIT $3");
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)tenantId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return Read(reader);
        }
    }

    public static AuditRecord Read(NpgsqlDataReader reader)
    {
        using var details = JsonDocument.Parse(reader.GetString(11));
        return new AuditRecord(
            reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), Nullable<Guid>(reader, 2), reader.GetString(3), reader.GetString(4),
            reader.GetString(5), Text(reader, 6), reader.GetString(7), Nullable<Guid>(reader, 8), Text(reader, 9), Text(reader, 10),
            details.RootElement.Clone(), Text(reader, 12), reader.GetString(13));
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static T? Nullable<T>(NpgsqlDataReader reader, int ordinal) where T : struct => reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<T>(ordinal);
}
