using Alto.Keys;
using Npgsql;

namespace Alto.Gateway.ReadModels;

/// <summary>The database's side of the recovery kit: every tenant, and each one's key versions as stored (wrapped by the master key).</summary>
public sealed class RecoveryKitReadModel(NpgsqlDataSource db)
{
    public async Task<IReadOnlyList<(Guid Id, string Name)>> TenantsAsync(CancellationToken cancellationToken)
    {
        var tenants = new List<(Guid, string)>();
        await using var command = db.CreateCommand("SELECT id, name FROM alto.tenant ORDER BY lower(name), id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            tenants.Add((reader.GetGuid(0), reader.GetString(1)));
        }
        return tenants;
    }

    public async Task<ILookup<Guid, RecoveryKitKey>> WrappedKeysAsync(CancellationToken cancellationToken)
    {
        var keys = new List<(Guid Tenant, RecoveryKitKey Key)>();
        await using var command = db.CreateCommand("SELECT tenant_id, version, wrapped_key FROM alto.tenant_key ORDER BY tenant_id, version");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add((reader.GetGuid(0), new RecoveryKitKey(reader.GetInt32(1), Convert.ToBase64String(await reader.GetFieldValueAsync<byte[]>(2, cancellationToken)))));
        }
        return keys.ToLookup(pair => pair.Tenant, pair => pair.Key);
    }
}
