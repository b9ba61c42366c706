using Alto.GrainInterfaces.Tenants;
using Alto.Gateway.Auth;
using Alto.Gateway.Validation;
using Npgsql;

namespace Alto.Gateway.ReadModels;

/// <summary>Tenant lists straight from alto.tenant (written by the tenant grains).</summary>
public sealed class TenantReadModel(NpgsqlDataSource db)
{
    public async Task<Page<TenantInfo>> ListAsync(
        Caller caller, TenantStatus? status, int page, int size, int offset, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT id, name, description, status, created_at, updated_at, count(*) OVER () AS total
            FROM alto.tenant
            WHERE ($1 OR id = ANY($2))
              AND ($3::text IS NULL OR status = $3)
            ORDER BY lower(name), id
            OFFSET $4 LIMIT $5
            """);
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = caller.IsPlatformAdmin });
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = caller.Tenants.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = status is null ? DBNull.Value : StatusName(status.Value), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = offset });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = size });

        var items = new List<TenantInfo>();
        long total = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(ReadTenant(reader));
            total = reader.GetInt64(6);
        }
        if (items.Count == 0 && offset > 0)
        {
            total = await CountAsync(caller, status, cancellationToken);
        }
        return new Page<TenantInfo>(items, page, size, total);
    }

    private async Task<long> CountAsync(Caller caller, TenantStatus? status, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT count(*) FROM alto.tenant WHERE ($1 OR id = ANY($2)) AND ($3::text IS NULL OR status = $3)
            """);
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = caller.IsPlatformAdmin });
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = caller.Tenants.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = status is null ? DBNull.Value : StatusName(status.Value), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static TenantInfo ReadTenant(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3) == "active" ? TenantStatus.Active : TenantStatus.Disabled,
        reader.GetFieldValue<DateTimeOffset>(4),
        reader.GetFieldValue<DateTimeOffset>(5));

    private static string StatusName(TenantStatus status) => status == TenantStatus.Active ? "active" : "disabled";
}
