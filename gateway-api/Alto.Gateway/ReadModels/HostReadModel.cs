using Alto.GrainInterfaces.Hosts;
using Alto.Gateway.Validation;
using Npgsql;

namespace Alto.Gateway.ReadModels;

/// <summary>Host lists of one tenant from alto.host (written by the host grains).</summary>
public sealed class HostReadModel(NpgsqlDataSource db)
{
    public async Task<Page<HostInfo>> ListAsync(Guid tenantId, int page, int size, int offset, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT id, tenant_id, name, os, volumes, status, enrollment_expires_at, created_at, updated_at,
                   count(*) OVER () AS total
            FROM alto.host
            WHERE tenant_id = $1
            ORDER BY lower(name), id
            OFFSET $2 LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = offset });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = size });

        var items = new List<HostInfo>();
        long total = 0;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(ReadHost(reader));
                total = reader.GetInt64(9);
            }
        }
        if (items.Count == 0 && offset > 0)
        {
            await using var count = db.CreateCommand("SELECT count(*) FROM alto.host WHERE tenant_id = $1");
            count.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
            total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }
        return new Page<HostInfo>(items, page, size, total);
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
        reader.GetFieldValue<DateTimeOffset>(8));
}
