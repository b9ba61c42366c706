using Alto.GrainInterfaces.Hosts;
using Alto.Grains.Persistence;
using Npgsql;

namespace Alto.Grains.Hosts;

/// <summary>The host grain's read-model row in alto.host; the grain is its only writer.</summary>
public sealed class HostRows(NpgsqlDataSource db)
{
    private const string Columns = "id, tenant_id, name, os, volumes, status, enrollment_expires_at, created_at, updated_at, enrolled_at, agent_version, last_scan_at, file_count, total_bytes";

    public async Task InsertAsync(Guid id, HostState state)
    {
        await using var command = db.CreateCommand($"INSERT INTO alto.host ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)");
        AddParameters(command, id, state);
        await command.ExecuteNonQueryAsync();
    }

    public async Task UpsertAsync(Guid id, HostState state)
    {
        await using var command = db.CreateCommand($"""
            INSERT INTO alto.host ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
            ON CONFLICT (id) DO UPDATE
            SET name = excluded.name, os = excluded.os, volumes = excluded.volumes, status = excluded.status,
                enrollment_expires_at = excluded.enrollment_expires_at, updated_at = excluded.updated_at,
                enrolled_at = excluded.enrolled_at, agent_version = excluded.agent_version,
                last_scan_at = excluded.last_scan_at, file_count = excluded.file_count, total_bytes = excluded.total_bytes
            WHERE alto.host.updated_at IS DISTINCT FROM excluded.updated_at
            """);
        AddParameters(command, id, state);
        await command.ExecuteNonQueryAsync();
    }

    public async Task UpdateHeartbeatAsync(Guid id, DateTimeOffset at)
    {
        await using var command = db.CreateCommand("UPDATE alto.host SET last_heartbeat_at = $2 WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = at });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Deletes the host's row, unless files of it are in the inventory (whose rows name their host
    /// without a foreign key): false then. A row something else names is refused by the foreign
    /// keys (PostgreSQL error 23503).
    /// </summary>
    public async Task<bool> DeleteAsync(Guid id, Guid tenantId)
    {
        await using var command = db.CreateCommand("""
            DELETE FROM alto.host WHERE id = $1
              AND NOT EXISTS (SELECT 1 FROM alto.file_current WHERE tenant_id = $2 AND host_id = $1)
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        return await command.ExecuteNonQueryAsync() == 1;
    }

    /// <summary>What in the database names a host (a host so named cannot be deleted).</summary>
    public Task<string[]> NamedByAsync(Guid id, Guid tenantId) => References.DescribeAsync(db,
    [
        // The inventory is only asked whether it holds any of the host's files: a count would read them all.
        new("SELECT count(*) FROM (SELECT 1 FROM alto.file_current WHERE tenant_id = $2 AND host_id = $1 LIMIT 1) f", _ => "its files in the inventory"),
        new("SELECT count(*) FROM alto.scan WHERE host_id = $1", count => $"{count} scan(s) of its files"),
        new("SELECT count(*) FROM alto.tier_object WHERE host_id = $1", count => $"{count} record(s) of its files tiered or planned"),
        new("SELECT count(*) FROM alto.tiering_job WHERE host_id = $1", count => $"{count} tiering job(s)"),
        new("SELECT count(*) FROM alto.rule WHERE host_id = $1", count => $"{count} rule(s) for this host only"),
        new("SELECT count(*) FROM alto.reconcile_run WHERE host_id = $1", count => $"{count} reconciliation run(s)"),
    ], id, tenantId);

    public async Task DeleteOrphanAsync(Guid id)
    {
        await using var command = db.CreateCommand("""
            DELETE FROM alto.host h
            WHERE h.id = $1
              AND NOT EXISTS (SELECT 1 FROM alto.scan s WHERE s.host_id = h.id)
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        await command.ExecuteNonQueryAsync();
    }

    public static string OsName(HostOs os) => os == HostOs.Windows ? "windows" : "linux";

    public static string StatusName(HostStatus status) => status.ToString().ToLowerInvariant();

    private static void AddParameters(NpgsqlCommand command, Guid id, HostState state)
    {
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = state.TenantId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = state.Name });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = OsName(state.Os) });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = state.Volumes });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = StatusName(state.Status) });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)state.EnrollmentExpiresAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = state.CreatedAt });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = state.UpdatedAt });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)state.EnrolledAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)state.AgentVersion ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)state.LastScanAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = state.FileCount });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = state.TotalBytes });
    }
}
