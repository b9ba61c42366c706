using Npgsql;
using static Alto.Gateway.ReadModels.SqlValues;

namespace Alto.Gateway.ReadModels;

/// <summary>One UTC day of a tenant's (or a host's) activity; <see cref="StubbedBytes"/> as the day ended.</summary>
public sealed record DailyActivity(
    DateOnly Day, long TieredFiles, long TieredBytes, long RecalledFiles, long RecalledBytes, long Scans, long FilesScanned, long StubbedBytes);

public sealed record DailySeries(Guid? HostId, DateOnly From, DateOnly To, DailyActivity[] Days);

/// <summary>What a target holds and what is on its way to it, by tiering state.</summary>
public sealed record TargetUsage(Guid? TargetId, string? Name, string? Kind, long StubbedObjects, long StubbedBytes, Dictionary<string, TierStateCount> States);

/// <summary>
/// The daily series and the per-target figures, from alto.daily_activity and alto.tier_summary
/// (kept by the writes to tier objects and scans; see migration 0022).
/// </summary>
public sealed class ActivityReadModel(NpgsqlDataSource db, TimeProvider time)
{
    /// <summary>The last <paramref name="days"/> days up to today, every day present (zeros where nothing happened).</summary>
    public async Task<DailySeries> DailyAsync(Guid tenantId, Guid? hostId, int days, CancellationToken cancellationToken)
    {
        var to = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var from = to.AddDays(1 - days);
        await using var command = db.CreateCommand("""
            SELECT host_id, day, tiered_files, tiered_bytes, recalled_files, recalled_bytes, scans, files_scanned, stubbed_bytes
            FROM alto.daily_activity
            WHERE tenant_id = $1 AND ($2::uuid IS NULL OR host_id = $2) AND day <= $3
            ORDER BY day
            """);
        command.Parameters.Add(Uuid(tenantId));
        command.Parameters.Add(Uuid(hostId));
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = to });
        var series = new Dictionary<DateOnly, DailyActivity>();
        // Each host's stubbed bytes carry on from its last day with a change, also from before the series starts.
        var stubbed = new Dictionary<Guid, long>();
        var rows = new List<(Guid Host, DailyActivity Day)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetGuid(0), new DailyActivity(await reader.GetFieldValueAsync<DateOnly>(1, cancellationToken), reader.GetInt64(2), reader.GetInt64(3),
                    reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7),
                    await reader.IsDBNullAsync(8, cancellationToken) ? -1 : reader.GetInt64(8))));
            }
        }
        var next = 0;
        var result = new DailyActivity[days];
        for (var i = 0; i < days; i++)
        {
            var day = from.AddDays(i);
            var sum = new DailyActivity(day, 0, 0, 0, 0, 0, 0, 0);
            for (; next < rows.Count && rows[next].Day.Day <= day; next++)
            {
                var (host, row) = rows[next];
                if (row.StubbedBytes >= 0)
                {
                    stubbed[host] = row.StubbedBytes;
                }
                if (row.Day == day)
                {
                    sum = sum with
                    {
                        TieredFiles = sum.TieredFiles + row.TieredFiles, TieredBytes = sum.TieredBytes + row.TieredBytes,
                        RecalledFiles = sum.RecalledFiles + row.RecalledFiles, RecalledBytes = sum.RecalledBytes + row.RecalledBytes,
                        Scans = sum.Scans + row.Scans, FilesScanned = sum.FilesScanned + row.FilesScanned,
                    };
                }
            }
            result[i] = sum with { StubbedBytes = stubbed.Values.Sum() };
        }
        return new DailySeries(hostId, from, to, result);
    }

    /// <summary>Every target of the tenant (and objects bound to none yet), by state; of one host's records with <paramref name="hostId"/>.</summary>
    public async Task<TargetUsage[]> TargetsAsync(Guid tenantId, Guid? hostId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT t.id, t.name, t.kind, s.state, sum(s.objects), sum(s.bytes)
            FROM alto.tier_summary s
            FULL JOIN alto.storage_target t ON t.id = s.target_id AND t.tenant_id = $1
            WHERE (s.tenant_id = $1 AND ($2::uuid IS NULL OR s.host_id = $2)) OR (s.tenant_id IS NULL AND t.tenant_id = $1)
            GROUP BY t.id, t.name, t.kind, s.state
            HAVING s.state IS NULL OR sum(s.objects) <> 0
            """);
        command.Parameters.Add(Uuid(tenantId));
        command.Parameters.Add(Uuid(hostId));
        var targets = new Dictionary<Guid, TargetUsage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.NullableGuid(0);
            var usage = targets.TryGetValue(id ?? Guid.Empty, out var known) ? known
                : targets[id ?? Guid.Empty] = new TargetUsage(id, reader.NullableText(1), reader.NullableText(2), 0, 0, []);
            if (await reader.IsDBNullAsync(3, cancellationToken))
            {
                continue;
            }
            var state = reader.GetString(3);
            var (objects, bytes) = ((long)reader.GetDecimal(4), (long)reader.GetDecimal(5));
            usage.States[state] = new TierStateCount(state, objects, bytes);
            if (state == "STUBBED")
            {
                targets[id ?? Guid.Empty] = usage with { StubbedObjects = objects, StubbedBytes = bytes };
            }
        }
        return [.. targets.Values.OrderByDescending(target => target.StubbedBytes).ThenBy(target => target.Name, StringComparer.Ordinal)];
    }
}
