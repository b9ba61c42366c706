using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Hosts;
using Alto.Scanning;
using Npgsql;

namespace Alto.Gateway.ReadModels;

/// <summary>
/// Host lists of one tenant from alto.host (written by the host grains), with each host's waiting
/// commands. The agent's last report (volumes, recall armed) lives in the host grain only: read one host for it.
/// </summary>
public sealed class HostReadModel(NpgsqlDataSource db)
{
    public Task<Page<HostInfo>> ListAsync(Guid tenantId, PageRequest page, CancellationToken cancellationToken) =>
        db.ReadPageAsync(
            new ListQuery(
                "id, tenant_id, name, os, volumes, status, enrollment_expires_at, created_at, updated_at, last_heartbeat_at, agent_version, last_scan_at, file_count, total_bytes, "
                + "(SELECT count(*)::int FROM alto.agent_command c WHERE c.host_id = alto.host.id)",
                "alto.host",
                "tenant_id = $1",
                "lower(name), id",
                () => [new NpgsqlParameter<Guid> { TypedValue = tenantId }]),
            page, ReadHost, cancellationToken);

    /// <summary>Whether the host is the tenant's: an id of another tenant's host is answered as not found.</summary>
    public async Task<bool> BelongsAsync(Guid tenantId, Guid hostId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT EXISTS (SELECT 1 FROM alto.host WHERE id = $1 AND tenant_id = $2)");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>How the host spells its paths (from the operating system it was registered with).</summary>
    public async Task<PathFlavor> PathFlavorAsync(Guid hostId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT os FROM alto.host WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        return await command.ExecuteScalarAsync(cancellationToken) is "windows" ? PathFlavor.Windows : PathFlavor.Posix;
    }

    private static HostInfo ReadHost(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetGuid(1),
        reader.GetString(2),
        reader.GetString(3) == "windows" ? HostOs.Windows : HostOs.Linux,
        reader.GetFieldValue<string[]>(4),
        Enum.Parse<HostStatus>(reader.GetString(5), ignoreCase: true),
        reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
        reader.GetFieldValue<DateTimeOffset>(7),
        reader.GetFieldValue<DateTimeOffset>(8))
    {
        LastHeartbeatAt = reader.IsDBNull(9) ? null : reader.GetFieldValue<DateTimeOffset>(9),
        AgentVersion = reader.IsDBNull(10) ? null : reader.GetString(10),
        LastScanAt = reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11),
        FileCount = reader.GetInt64(12),
        TotalBytes = reader.GetInt64(13),
        PendingCommands = reader.GetInt32(14),
    };
}
