using Alto.Audit;
using Npgsql;

namespace Alto.Grains.Scans;

/// <summary>A scan failed because its staged rows expired before it was merged, and the status it had.</summary>
public sealed record ExpiredScan(long ScanId, Guid TenantId, Guid HostId, Guid ScanUid, string Was);

/// <summary>
/// Fails the scans still receiving, queued or ingesting when their staged rows expire (the day
/// partition of their start is dropped with the retention): merged from what is left, they would
/// mark the missing files deleted. Each is audited in the same transaction.
/// </summary>
public sealed class ExpiredScans(NpgsqlDataSource db)
{
    public async Task<IReadOnlyList<ExpiredScan>> FailAsync(int keepDays, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var expired = new List<ExpiredScan>();
        await using (var command = new NpgsqlCommand(
            "SELECT scan_id, tenant_id, host_id, scan_uid, was FROM scan_staging.expire_unfinished_scans($1)", connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = keepDays });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                expired.Add(new ExpiredScan(reader.GetInt64(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetGuid(3), reader.GetString(4)));
            }
        }
        await AuditLog.AppendAsync(connection, transaction, [.. expired.Select(scan => new AuditEntry(scan.TenantId, "system", "scan.expired", "scan",
            scan.ScanUid.ToString(), Succeeded: false, new Dictionary<string, object?>
            {
                ["scanId"] = scan.ScanId, ["status"] = scan.Was, ["keptDays"] = keepDays,
                ["outcome"] = "failed before its staged rows expired; the inventory is unchanged and the agent's next scan starts afresh",
            }) { HostId = scan.HostId })], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return expired;
    }
}
