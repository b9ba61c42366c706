using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Alto.Audit;

/// <summary>
/// One audit entry: who did what to which object, with what outcome, and the details that matter;
/// the host and path it concerns and where the request came from, when known.
/// </summary>
public sealed record AuditEntry(
    Guid? TenantId, string Actor, string Action, string ObjectType, string? ObjectId, bool Succeeded, IReadOnlyDictionary<string, object?> Details)
{
    public Guid? HostId { get; init; }

    public string? Path { get; init; }

    /// <summary>The client address the change came from (for changes made through the API).</summary>
    public string? Origin { get; init; }

    /// <summary>The entry's own id, for an entry that may be appended more than once: it is recorded the first time only.</summary>
    public Guid? ChangeId { get; init; }

    /// <summary>When the change was made, for an entry appended after it; now when null.</summary>
    public DateTimeOffset? At { get; init; }
}

/// <summary>
/// Appends to alto.audit_log inside the caller's transaction, so an entry exists exactly when the
/// change it records was committed. The table is append-only (a trigger refuses updates and
/// deletes) and chained: the insert trigger numbers the entry in its tenant's chain and hashes it
/// with the previous entry's hash (migration 0005; <see cref="AuditChain"/> verifies).
/// </summary>
public static class AuditLog
{
    /// <summary>Details read like the API's JSON: camelCase members, enums by name.</summary>
    private static readonly JsonSerializerOptions DetailsJson = new(JsonSerializerOptions.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static string SerializeDetails(IReadOnlyDictionary<string, object?> details) => JsonSerializer.Serialize(details, DetailsJson);

    public static async Task AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, AuditEntry entry, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO alto.audit_log (tenant_id, actor, action, object_type, object_id, outcome, details, host_id, path, origin, change_id, at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, coalesce($12, now()))
            ON CONFLICT (change_id) WHERE change_id IS NOT NULL DO NOTHING
            """, connection, transaction);
        command.Parameters.Add(Nullable(entry.TenantId, NpgsqlDbType.Uuid));
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Actor });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Action });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.ObjectType });
        command.Parameters.Add(Nullable(entry.ObjectId, NpgsqlDbType.Text));
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Succeeded ? "success" : "failure" });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = SerializeDetails(entry.Details), NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(Nullable(entry.HostId, NpgsqlDbType.Uuid));
        command.Parameters.Add(Nullable(entry.Path, NpgsqlDbType.Text));
        command.Parameters.Add(Nullable(entry.Origin, NpgsqlDbType.Text));
        command.Parameters.Add(Nullable(entry.ChangeId, NpgsqlDbType.Uuid));
        command.Parameters.Add(Nullable(entry.At, NpgsqlDbType.TimestampTz));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Appends many entries in one statement, chained in the order given, inside the caller's transaction.</summary>
    public static async Task AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return;
        }
        await using var command = new NpgsqlCommand("""
            INSERT INTO alto.audit_log (tenant_id, actor, action, object_type, object_id, outcome, details, host_id, path, origin)
            SELECT e.tenant_id, e.actor, e.action, e.object_type, e.object_id, e.outcome, e.details::jsonb, e.host_id, e.path, e.origin
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[], $9::text[], $10::text[])
                 WITH ORDINALITY AS e(tenant_id, actor, action, object_type, object_id, outcome, details, host_id, path, origin, n)
            ORDER BY e.n
            """, connection, transaction);
        command.Parameters.Add(Array(entries.Select(entry => entry.TenantId), NpgsqlDbType.Uuid));
        command.Parameters.Add(Array(entries.Select(entry => entry.Actor), NpgsqlDbType.Text));
        command.Parameters.Add(Array(entries.Select(entry => entry.Action), NpgsqlDbType.Text));
        command.Parameters.Add(Array(entries.Select(entry => entry.ObjectType), NpgsqlDbType.Text));
        command.Parameters.Add(Array(entries.Select(entry => entry.ObjectId), NpgsqlDbType.Text));
        command.Parameters.Add(Array(entries.Select(entry => entry.Succeeded ? "success" : "failure"), NpgsqlDbType.Text));
        command.Parameters.Add(Array(entries.Select(entry => SerializeDetails(entry.Details)), NpgsqlDbType.Text));
        command.Parameters.Add(Array(entries.Select(entry => entry.HostId), NpgsqlDbType.Uuid));
        command.Parameters.Add(Array(entries.Select(entry => entry.Path), NpgsqlDbType.Text));
        command.Parameters.Add(Array(entries.Select(entry => entry.Origin), NpgsqlDbType.Text));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Appends in a transaction of its own, for changes that are not written through SQL (grain state).</summary>
    public static async Task AppendAsync(NpgsqlDataSource db, AuditEntry entry, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await AppendAsync(connection, transaction, entry, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static NpgsqlParameter Array<T>(IEnumerable<T> values, NpgsqlDbType type) => new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | type };

    private static NpgsqlParameter Nullable(object? value, NpgsqlDbType type) => new() { Value = value ?? DBNull.Value, NpgsqlDbType = type };
}
