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

    /// <summary>
    /// Why <paramref name="path"/> may not be a path target of <paramref name="tenantId"/>: it is
    /// another tenant's target root, or inside or around one (whole path segments compared).
    /// </summary>
    public async Task<string?> OverlappingAsync(Guid tenantId, string path, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT settings->>'path' FROM alto.storage_target WHERE kind = 'path' AND tenant_id <> $1 AND settings->>'path' IS NOT NULL");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (Validation.TargetPlaces.Overlap(path, reader.GetString(0)))
            {
                // The other tenant's path is not named: it is theirs.
                return $"{path} is, holds or lies inside another tenant's storage target; give a folder of this tenant's own";
            }
        }
        return null;
    }

    /// <summary>Whether <paramref name="targetId"/> is a storage target of <paramref name="tenantId"/>.</summary>
    public async Task<bool> BelongsAsync(Guid tenantId, Guid targetId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT EXISTS (SELECT 1 FROM alto.storage_target WHERE id = $1 AND tenant_id = $2)");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>How many of the tenant's files have their data in the target now: stubs, stubs being recalled, and files being tiered to it.</summary>
    public async Task<long> ObjectsInUseAsync(Guid tenantId, Guid targetId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT count(*) FROM alto.tier_object
            WHERE target_id = $2 AND locator IS NOT NULL AND tenant_id = $1 AND state IN ('UPLOADING', 'UPLOADED', 'STUBBED', 'RECALLING')
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
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
