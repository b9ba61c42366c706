using System.Text.Json;
using Alto.GrainInterfaces.Rules;
using Npgsql;
using NpgsqlTypes;

namespace Alto.Grains.Tenants;

/// <summary>
/// alto.rule, the reporting mirror of a tenant's rules. A tenant has few rules, so every change
/// rewrites the tenant's rows whole in one transaction: the mirror can never hold half a reorder.
/// </summary>
public sealed class RuleRows(NpgsqlDataSource db)
{
    private static readonly JsonSerializerOptions CriteriaJson = new(JsonSerializerDefaults.Web);

    public async Task ReplaceAsync(Guid tenantId, IReadOnlyCollection<RuleInfo> rules)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var delete = new NpgsqlCommand("DELETE FROM alto.rule WHERE tenant_id = $1", connection, transaction))
        {
            delete.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
            await delete.ExecuteNonQueryAsync();
        }
        if (rules.Count > 0)
        {
            var batch = new NpgsqlBatch(connection, transaction);
            await using (batch)
            {
                foreach (var rule in rules)
                {
                    batch.BatchCommands.Add(Insert(tenantId, rule));
                }
                await batch.ExecuteNonQueryAsync();
            }
        }
        await transaction.CommitAsync();
    }

    private static NpgsqlBatchCommand Insert(Guid tenantId, RuleInfo rule)
    {
        var command = new NpgsqlBatchCommand("""
            INSERT INTO alto.rule (id, tenant_id, name, priority, enabled, action, target_id, host_id, criteria, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = rule.Id });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = rule.Name });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = rule.Priority });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = rule.Enabled });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ActionName(rule.Action) });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)rule.TargetId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)rule.HostId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter<string>
        {
            TypedValue = JsonSerializer.Serialize(rule.Criteria, CriteriaJson),
            NpgsqlDbType = NpgsqlDbType.Jsonb,
        });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = rule.CreatedAt });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = rule.UpdatedAt });
        return command;
    }

    public static string ActionName(RuleAction action) => action == RuleAction.Tier ? "tier" : "exclude";
}
