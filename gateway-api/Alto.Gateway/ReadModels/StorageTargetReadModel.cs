using System.Text.Json;
using Alto.GrainInterfaces.Tenants;
using Alto.Gateway.Validation;
using Npgsql;

namespace Alto.Gateway.ReadModels;

/// <summary>Storage target lists of one tenant from alto.storage_target; the rows hold no secrets.</summary>
public sealed class StorageTargetReadModel(NpgsqlDataSource db)
{
    public async Task<Page<StorageTargetInfo>> ListAsync(Guid tenantId, int page, int size, int offset, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT id, tenant_id, name, kind, settings::text, has_credentials, enabled, created_at, updated_at,
                   count(*) OVER () AS total
            FROM alto.storage_target
            WHERE tenant_id = $1
            ORDER BY lower(name), id
            OFFSET $2 LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = offset });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = size });

        var items = new List<StorageTargetInfo>();
        long total = 0;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(ReadTarget(reader));
                total = reader.GetInt64(9);
            }
        }
        if (items.Count == 0 && offset > 0)
        {
            await using var count = db.CreateCommand("SELECT count(*) FROM alto.storage_target WHERE tenant_id = $1");
            count.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
            total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }
        return new Page<StorageTargetInfo>(items, page, size, total);
    }

    private static StorageTargetInfo ReadTarget(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetGuid(1),
        reader.GetString(2),
        Enum.Parse<StorageTargetKind>(reader.GetString(3), ignoreCase: true),
        JsonSerializer.Deserialize<StorageTargetSettings>(reader.GetString(4), JsonSerializerOptions.Web)
            ?? new StorageTargetSettings(null, null, null, null, null, null, null, false),
        reader.GetBoolean(5),
        reader.GetBoolean(6),
        reader.GetFieldValue<DateTimeOffset>(7),
        reader.GetFieldValue<DateTimeOffset>(8));
}
