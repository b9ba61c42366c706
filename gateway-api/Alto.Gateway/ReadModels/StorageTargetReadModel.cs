using System.Text.Json;
using Alto.GrainInterfaces.Tenants;
using Alto.Gateway.Validation;
using Npgsql;

namespace Alto.Gateway.ReadModels;

/// <summary>Storage target lists of one tenant from alto.storage_target; the rows hold no secrets.</summary>
public sealed class StorageTargetReadModel(NpgsqlDataSource db)
{
    public Task<Page<StorageTargetInfo>> ListAsync(Guid tenantId, PageRequest page, CancellationToken cancellationToken) =>
        db.ReadPageAsync(
            new ListQuery(
                "id, tenant_id, name, kind, settings::text, has_credentials, enabled, created_at, updated_at",
                "alto.storage_target",
                "tenant_id = $1",
                "lower(name), id",
                () => [new NpgsqlParameter<Guid> { TypedValue = tenantId }]),
            page, ReadTarget, cancellationToken);

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
