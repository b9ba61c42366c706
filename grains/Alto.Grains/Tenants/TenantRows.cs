using System.Text.Json;
using Alto.GrainInterfaces.Tenants;
using Alto.Grains.Persistence;
using Npgsql;
using NpgsqlTypes;

namespace Alto.Grains.Tenants;

/// <summary>
/// The tenant grain's read-model rows (alto.tenant, alto.storage_target). The grain is their only
/// writer; inserts double as the claim on a unique name, so a refused insert leaves nothing behind.
/// </summary>
public sealed class TenantRows(NpgsqlDataSource db)
{
    private static readonly JsonSerializerOptions SettingsJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public async Task InsertTenantAsync(Guid id, TenantState state)
    {
        await using var command = db.CreateCommand("""
            INSERT INTO alto.tenant (id, name, description, status, created_at, updated_at, encrypt_tier2, recall_after_reads, plan_approval, min_tierable_bytes,
                                     orphan_grace_days, reclaim_orphans)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            """);
        AddTenantParameters(command, id, state);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Writes the row as the state says, creating it if missing (heals a crash between the two writes).</summary>
    public async Task UpsertTenantAsync(Guid id, TenantState state)
    {
        await using var command = db.CreateCommand("""
            INSERT INTO alto.tenant (id, name, description, status, created_at, updated_at, encrypt_tier2, recall_after_reads, plan_approval, min_tierable_bytes,
                                     orphan_grace_days, reclaim_orphans)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT (id) DO UPDATE
            SET name = excluded.name, description = excluded.description, status = excluded.status,
                updated_at = excluded.updated_at, encrypt_tier2 = excluded.encrypt_tier2, recall_after_reads = excluded.recall_after_reads,
                plan_approval = excluded.plan_approval, min_tierable_bytes = excluded.min_tierable_bytes,
                orphan_grace_days = excluded.orphan_grace_days, reclaim_orphans = excluded.reclaim_orphans
            WHERE (alto.tenant.name, alto.tenant.description, alto.tenant.status, alto.tenant.updated_at, alto.tenant.encrypt_tier2,
                   alto.tenant.recall_after_reads, alto.tenant.plan_approval, alto.tenant.min_tierable_bytes,
                   alto.tenant.orphan_grace_days, alto.tenant.reclaim_orphans)
                  IS DISTINCT FROM (excluded.name, excluded.description, excluded.status, excluded.updated_at, excluded.encrypt_tier2,
                                    excluded.recall_after_reads, excluded.plan_approval, excluded.min_tierable_bytes,
                                    excluded.orphan_grace_days, excluded.reclaim_orphans)
            """);
        AddTenantParameters(command, id, state);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Removes a row whose grain has no state: left by a create that failed half-way.</summary>
    public async Task DeleteOrphanTenantAsync(Guid id)
    {
        await using var command = db.CreateCommand("""
            DELETE FROM alto.tenant t
            WHERE t.id = $1
              AND NOT EXISTS (SELECT 1 FROM alto.host h WHERE h.tenant_id = t.id)
              AND NOT EXISTS (SELECT 1 FROM alto.storage_target s WHERE s.tenant_id = t.id)
              AND NOT EXISTS (SELECT 1 FROM alto.app_user_tenant u WHERE u.tenant_id = t.id)
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        await command.ExecuteNonQueryAsync();
    }

    public async Task UpsertTargetAsync(Guid tenantId, StorageTargetState target)
    {
        await using var command = db.CreateCommand("""
            INSERT INTO alto.storage_target (id, tenant_id, name, kind, settings, has_credentials, enabled, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (id) DO UPDATE
            SET name = excluded.name, settings = excluded.settings, has_credentials = excluded.has_credentials,
                enabled = excluded.enabled, updated_at = excluded.updated_at
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = target.Id });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = target.Name });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = KindName(target.Kind) });
        command.Parameters.Add(new NpgsqlParameter<string>
        {
            TypedValue = JsonSerializer.Serialize(target.Settings, SettingsJson),
            NpgsqlDbType = NpgsqlDbType.Jsonb,
        });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = target.HasCredentials });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = target.Enabled });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = target.CreatedAt });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = target.UpdatedAt });
        await command.ExecuteNonQueryAsync();
    }

    public async Task DeleteTargetAsync(Guid targetId)
    {
        await using var command = db.CreateCommand("DELETE FROM alto.storage_target WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>What in the database names a target (a target so named cannot be deleted: these tables' foreign keys refuse it).</summary>
    public Task<string[]> TargetNamedByAsync(Guid targetId) => References.DescribeAsync(db,
    [
        new("SELECT count(*) FROM alto.tier_object WHERE target_id = $1", count => $"{count} record(s) of files tiered to it or planned for it"),
        new("SELECT count(*) FROM alto.tiering_job WHERE target_id = $1", count => $"{count} tiering job(s)"),
        new("SELECT count(*) FROM alto.reconcile_run WHERE target_id = $1", count => $"{count} reconciliation run(s)"),
        new("SELECT count(*) FROM alto.reconcile_schedule WHERE target_id = $1", count => $"{count} reconciliation schedule (remove it first: DELETE …/reconcile-schedule)"),
    ], targetId);

    /// <summary>The tenant's hosts that may be planned (every one but the disabled).</summary>
    public async Task<Guid[]> ListPlannableHostsAsync(Guid tenantId)
    {
        await using var command = db.CreateCommand("SELECT id FROM alto.host WHERE tenant_id = $1 AND status <> 'disabled' ORDER BY name");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        await using var reader = await command.ExecuteReaderAsync();
        var hosts = new List<Guid>();
        while (await reader.ReadAsync())
        {
            hosts.Add(reader.GetGuid(0));
        }
        return [.. hosts];
    }

    public static string KindName(StorageTargetKind kind) => kind switch
    {
        StorageTargetKind.Path => "path",
        StorageTargetKind.S3 => "s3",
        StorageTargetKind.Azure => "azure",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown storage target kind"),
    };

    public static string StatusName(TenantStatus status) => status == TenantStatus.Active ? "active" : "disabled";

    private static void AddTenantParameters(NpgsqlCommand command, Guid id, TenantState state)
    {
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = state.Name });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = state.Description });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = StatusName(state.Status) });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = state.CreatedAt });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = state.UpdatedAt });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = state.EncryptTier2 });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)state.RecallAfterReads ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ApprovalName(state.EffectivePlanApproval) });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = state.EffectiveMinTierableBytes });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = state.EffectiveOrphanGraceDays });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = state.ReclaimOrphans });
    }

    public static string ApprovalName(PlanApproval approval) => approval == PlanApproval.Manual ? "manual" : "auto";
}
