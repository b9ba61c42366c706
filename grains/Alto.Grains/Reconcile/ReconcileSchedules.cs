using Alto.Audit;
using Alto.GrainInterfaces.Reconcile;
using Npgsql;
using NpgsqlTypes;

namespace Alto.Grains.Reconcile;

/// <summary>alto.reconcile_schedule, written only by each target's schedule grain.</summary>
public sealed class ReconcileSchedules(NpgsqlDataSource db)
{
    public async Task<(Guid TenantId, ReconcileScheduleInfo Info)?> ReadAsync(Guid targetId)
    {
        await using var command = db.CreateCommand("""
            SELECT tenant_id, every_hours, depth, sample_percent, requests_per_second, last_run_id, last_tick_at, last_outcome
            FROM alto.reconcile_schedule WHERE target_id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetGuid(0), ReadInfo(targetId, reader)) : null;
    }

    /// <summary>Writes the schedule and the audit entry of the change in one transaction: neither is stored without the other.</summary>
    public async Task UpsertAsync(Guid targetId, Guid tenantId, ReconcileSchedule schedule, DateTimeOffset now, AuditEntry entry)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand("""
            INSERT INTO alto.reconcile_schedule (target_id, tenant_id, every_hours, depth, sample_percent, requests_per_second, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (target_id) DO UPDATE SET every_hours = excluded.every_hours, depth = excluded.depth, sample_percent = excluded.sample_percent,
                requests_per_second = excluded.requests_per_second, updated_at = excluded.updated_at
            """, connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = schedule.EveryHours });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ReconcileRuns.DepthName(schedule.Depth) });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = schedule.SamplePercent });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = schedule.RequestsPerSecond });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            await command.ExecuteNonQueryAsync();
        }
        await AuditLog.AppendAsync(connection, transaction, entry, CancellationToken.None);
        await transaction.CommitAsync();
    }

    /// <summary>Removes the schedule with the audit entry of its removal, in one transaction.</summary>
    public async Task DeleteAsync(Guid targetId, AuditEntry entry)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand("DELETE FROM alto.reconcile_schedule WHERE target_id = $1", connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
            await command.ExecuteNonQueryAsync();
        }
        await AuditLog.AppendAsync(connection, transaction, entry, CancellationToken.None);
        await transaction.CommitAsync();
    }

    /// <summary>What a tick did: the run it started, or why it started none.</summary>
    public async Task RecordTickAsync(Guid targetId, Guid? runId, string outcome, DateTimeOffset now)
    {
        await using var command = db.CreateCommand(
            "UPDATE alto.reconcile_schedule SET last_run_id = coalesce($2, last_run_id), last_tick_at = $3, last_outcome = $4 WHERE target_id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
        command.Parameters.Add(new NpgsqlParameter<Guid?> { TypedValue = runId, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = outcome });
        await command.ExecuteNonQueryAsync();
    }

    private static ReconcileScheduleInfo ReadInfo(Guid targetId, NpgsqlDataReader reader) => new(
        targetId,
        new ReconcileSchedule(reader.GetInt32(1), Enum.Parse<ReconcileDepth>(reader.GetString(2), ignoreCase: true), reader.GetInt32(3), reader.GetInt32(4)),
        reader.IsDBNull(5) ? null : reader.GetGuid(5),
        reader.IsDBNull(6) ? null : new DateTimeOffset(reader.GetDateTime(6), TimeSpan.Zero),
        reader.IsDBNull(7) ? null : reader.GetString(7));
}
