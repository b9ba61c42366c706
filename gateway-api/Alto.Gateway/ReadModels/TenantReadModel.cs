using Alto.GrainInterfaces.Tenants;
using Alto.Gateway.Auth;
using Alto.Gateway.Validation;
using Npgsql;
using NpgsqlTypes;

namespace Alto.Gateway.ReadModels;

/// <summary>Tenant lists straight from alto.tenant (written by the tenant grains), scoped to the caller.</summary>
public sealed class TenantReadModel(NpgsqlDataSource db)
{
    public Task<Page<TenantInfo>> ListAsync(Caller caller, TenantStatus? status, PageRequest page, CancellationToken cancellationToken) =>
        db.ReadPageAsync(
            new ListQuery(
                "id, name, description, status, created_at, updated_at, encrypt_tier2, recall_after_reads, plan_approval, min_tierable_bytes, orphan_grace_days, reclaim_orphans",
                "alto.tenant",
                "($1 OR id = ANY($2)) AND ($3::text IS NULL OR status = $3)",
                "lower(name), id",
                () =>
                [
                    new NpgsqlParameter<bool> { TypedValue = caller.IsPlatformAdmin },
                    new NpgsqlParameter<Guid[]> { TypedValue = [.. caller.Tenants] },
                    new NpgsqlParameter { Value = status is null ? DBNull.Value : StatusName(status.Value), NpgsqlDbType = NpgsqlDbType.Text },
                ]),
            page, ReadTenant, cancellationToken);

    private static TenantInfo ReadTenant(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3) == "active" ? TenantStatus.Active : TenantStatus.Disabled,
        reader.GetFieldValue<DateTimeOffset>(4),
        reader.GetFieldValue<DateTimeOffset>(5))
    {
        EncryptTier2 = reader.GetBoolean(6),
        RecallAfterReads = reader.IsDBNull(7) ? null : reader.GetInt32(7),
        PlanApproval = reader.GetString(8) == "manual" ? PlanApproval.Manual : PlanApproval.Auto,
        MinTierableBytes = reader.GetInt64(9),
        OrphanGraceDays = reader.GetInt32(10),
        ReclaimOrphans = reader.GetBoolean(11),
    };

    private static string StatusName(TenantStatus status) => status == TenantStatus.Active ? "active" : "disabled";
}
