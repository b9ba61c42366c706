using Alto.Scanning;
using Npgsql;
using NpgsqlTypes;

namespace Alto.Gateway.Scans;

/// <summary>
/// Stages a host's batch of LucidLink trail updates (alto.audit_update_batch and its staging rows)
/// for the host's inventory grain to apply: all of the batch or nothing, once per batch id.
/// </summary>
public sealed class TrailStaging(NpgsqlDataSource db)
{
    /// <summary>Stages the batch in one transaction; false when a batch with this id was staged before (nothing is written then).</summary>
    public async Task<bool> StageAsync(
        Guid batchId, Guid tenantId, Guid hostId, DateTimeOffset? collectedAt, TrailUpdate[] updates, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO alto.audit_update_batch (id, tenant_id, host_id, source, collected_at, update_count)
            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING
            """, connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = batchId });
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = TrailUpdateBatch.LucidLinkSource });
            insert.Parameters.Add(new NpgsqlParameter { Value = (object?)collectedAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = updates.Length });
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false;
            }
        }
        await using (var stage = new NpgsqlCommand("""
            INSERT INTO alto.audit_update_staging (batch_id, seq, full_path, kind, at_unix, target_path)
            SELECT $1, u.seq, u.path, u.kind, u.at, u.target
            FROM unnest($2::int[], $3::text[], $4::text[], $5::bigint[], $6::text[]) AS u(seq, path, kind, at, target)
            """, connection, transaction))
        {
            stage.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = batchId });
            stage.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. Enumerable.Range(0, updates.Length)] });
            stage.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. updates.Select(u => u.FilePath!)] });
            stage.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. updates.Select(u => u.AccessType!)] });
            stage.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. updates.Select(u => u.LastAccessed!.Value.ToUnixTimeSeconds())] });
            stage.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. updates.Select(u => u.TargetPath)] });
            await stage.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return true;
    }
}
