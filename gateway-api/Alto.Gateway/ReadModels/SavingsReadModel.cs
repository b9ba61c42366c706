using Alto.GrainInterfaces.Tenants;
using Npgsql;
using static Alto.Gateway.ReadModels.SqlValues;

namespace Alto.Gateway.ReadModels;

/// <summary>One target's share of the savings now: a month of its stubbed bytes, less the requests and retrieval of the last 30 days.</summary>
public sealed record TargetSavings(
    Guid TargetId, string? Name, long StubbedBytes, decimal LocalCostAvoidedPerMonth, decimal StorageCostPerMonth,
    decimal RequestCostsLast30Days, decimal NetSavingsPerMonth);

/// <summary>One UTC day: the stubbed bytes as it ended and what that day saved (a day of storage, less its requests and retrieval).</summary>
public sealed record DailySavings(DateOnly Day, long StubbedBytes, decimal Savings);

/// <summary>What tiering saves a tenant (or one host) by its cost model, now and day by day.</summary>
public sealed record SavingsReport(
    Guid? HostId, string Currency, bool CostModelSet, long StubbedBytes,
    decimal LocalCostAvoidedPerMonth, decimal StorageCostPerMonth, decimal RequestCostsLast30Days, decimal NetSavingsPerMonth,
    TargetSavings[] Targets, DateOnly From, DateOnly To, decimal SavingsInPeriod, DailySavings[] Days);

/// <summary>
/// Savings from alto.tier_summary (what is stubbed now, per target) and alto.daily_tiering (each
/// day's stubs and requests per host and target; migration 0023), priced by the tenant's cost model.
/// </summary>
public sealed class SavingsReadModel(NpgsqlDataSource db, ActivityReadModel activity, TimeProvider time)
{
    /// <summary>The request and retrieval costs a monthly figure carries: those of the last this many days.</summary>
    public const int RecentDays = 30;

    public async Task<SavingsReport> ReportAsync(Guid tenantId, Guid? hostId, int days, CostModel model, CancellationToken cancellationToken)
    {
        var to = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var from = to.AddDays(1 - days);
        var recentFrom = to.AddDays(1 - RecentDays);
        var history = await ReadDaysAsync(tenantId, hostId, to, cancellationToken);

        // Each host and target's stubbed bytes carry on from its last day with a change, also from before the series starts.
        var stubbed = new Dictionary<(Guid Host, Guid Target), long>();
        var recentCosts = new Dictionary<Guid, decimal>();
        var series = new DailySavings[days];
        var next = 0;
        for (var day = history.Count == 0 ? from : Min(history[0].Day, from); day <= to; day = day.AddDays(1))
        {
            var requests = 0m;
            for (; next < history.Count && history[next].Day == day; next++)
            {
                var row = history[next];
                if (row.StubbedBytes is { } bytes)
                {
                    stubbed[(row.HostId, row.TargetId)] = bytes;
                }
                var cost = Pricing.RequestCosts(model, row.TargetId, row.TieredFiles, row.RecalledFiles, row.RecalledBytes);
                requests += cost;
                if (day >= recentFrom)
                {
                    recentCosts[row.TargetId] = recentCosts.GetValueOrDefault(row.TargetId) + cost;
                }
            }
            if (day >= from)
            {
                var storage = stubbed.Sum(pair => Pricing.SavedPerMonth(model, pair.Key.Target, pair.Value)) / Pricing.DaysPerMonth;
                series[day.DayNumber - from.DayNumber] = new DailySavings(day, stubbed.Values.Sum(), Pricing.Round(storage - requests));
            }
        }

        var targets = (await activity.TargetsAsync(tenantId, hostId, cancellationToken))
            .Where(usage => usage.TargetId is not null)
            .Select(usage => Priced(model, usage.TargetId!.Value, usage.Name, usage.StubbedBytes, recentCosts.GetValueOrDefault(usage.TargetId.Value)))
            .ToArray();
        return new SavingsReport(
            hostId, model.Currency, model.UpdatedAt is not null, targets.Sum(t => t.StubbedBytes),
            targets.Sum(t => t.LocalCostAvoidedPerMonth), targets.Sum(t => t.StorageCostPerMonth), targets.Sum(t => t.RequestCostsLast30Days),
            targets.Sum(t => t.NetSavingsPerMonth), targets, from, to, series.Sum(d => d.Savings), series);
    }

    private static TargetSavings Priced(CostModel model, Guid targetId, string? name, long stubbedBytes, decimal recentCosts)
    {
        var avoided = Pricing.Round(Pricing.LocalPerMonth(model, stubbedBytes));
        var storage = Pricing.Round(Pricing.StoragePerMonth(model, targetId, stubbedBytes));
        var requests = Pricing.Round(recentCosts);
        return new TargetSavings(targetId, name, stubbedBytes, avoided, storage, requests, avoided - storage - requests);
    }

    private static DateOnly Min(DateOnly a, DateOnly b) => a < b ? a : b;

    private sealed record DayRow(
        Guid HostId, Guid TargetId, DateOnly Day, long TieredFiles, long RecalledFiles, long RecalledBytes, long? StubbedBytes);

    private async Task<List<DayRow>> ReadDaysAsync(Guid tenantId, Guid? hostId, DateOnly to, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT host_id, target_id, day, tiered_files, recalled_files, recalled_bytes, stubbed_bytes
            FROM alto.daily_tiering
            WHERE tenant_id = $1 AND ($2::uuid IS NULL OR host_id = $2) AND day <= $3
            ORDER BY day
            """);
        command.Parameters.Add(Uuid(tenantId));
        command.Parameters.Add(Uuid(hostId));
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = to });
        var rows = new List<DayRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new DayRow(reader.GetGuid(0), reader.GetGuid(1), await reader.GetFieldValueAsync<DateOnly>(2, cancellationToken),
                reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5),
                await reader.IsDBNullAsync(6, cancellationToken) ? null : reader.GetInt64(6)));
        }
        return rows;
    }
}
