using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Alto.Grains.Audit;

/// <summary>One audit entry: who did what to which object, with what outcome, and the details that matter.</summary>
public sealed record AuditEntry(
    Guid? TenantId, string Actor, string Action, string ObjectType, string? ObjectId, bool Succeeded, IReadOnlyDictionary<string, object?> Details);

/// <summary>
/// Appends to alto.audit_log (append-only: a trigger refuses updates and deletes) inside the
/// caller's transaction, so an entry exists exactly when the change it records was committed.
/// </summary>
public static class AuditLog
{
    public static async Task AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, AuditEntry entry, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO alto.audit_log (tenant_id, actor, action, object_type, object_id, outcome, details)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)entry.TenantId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Actor });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Action });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.ObjectType });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)entry.ObjectId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = entry.Succeeded ? "success" : "failure" });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = JsonSerializer.Serialize(entry.Details), NpgsqlDbType = NpgsqlDbType.Jsonb });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
