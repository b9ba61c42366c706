using Alto.GrainInterfaces.Scans;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Scans;

/// <summary>
/// Every hour: fails the scans still unfinished when their staged rows expire (audited, counted,
/// logged), then drops scan staging partitions older than the retention (7 days), the unchanged
/// folders of incremental scans abandoned as long ago, and the chunk records of finished scans
/// past it.
/// </summary>
public sealed partial class StagingRetentionGrain(NpgsqlDataSource db, ScanMetrics metrics, ILogger<StagingRetentionGrain> logger)
    : Grain, IStagingRetentionGrain, IRemindable
{
    public const int RetentionDays = 7;
    private const string Reminder = "staging-retention";

    public async Task<int> EnsureScheduledAsync()
    {
        // Every silo's start-up sweep asks; only the first registration (and its sweep) does anything,
        // so the reminder row is not rewritten, nor its hourly schedule pushed back, every minute.
        if (await this.GetReminder(Reminder) is not null)
        {
            return 0;
        }
        await this.RegisterOrUpdateReminder(Reminder, TimeSpan.FromMinutes(1), TimeSpan.FromHours(1));
        return await DropExpiredAsync();
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => DropExpiredAsync();

    private async Task<int> DropExpiredAsync()
    {
        // First: a scan whose rows are about to go must not be merged from what is left of them.
        await ExpireUnfinishedScansAsync();
        var dropped = await SweepAsync("SELECT scan_staging.drop_expired_partitions($1)");
        var parts = await SweepAsync("SELECT scan_staging.drop_expired_unchanged_parts($1)");
        var chunks = await SweepAsync("SELECT scan_staging.drop_expired_chunks($1)");
        if (dropped > 0 || parts > 0 || chunks > 0)
        {
            LogDropped(logger, dropped, parts, chunks);
        }
        return dropped;
    }

    /// <summary>Fails the scans still unfinished past the retention (audited with them); counts and logs them.</summary>
    private async Task ExpireUnfinishedScansAsync()
    {
        foreach (var scan in await new ExpiredScans(db).FailAsync(RetentionDays, CancellationToken.None))
        {
            metrics.Expired(scan.TenantId);
            LogScanExpired(logger, scan.ScanId, scan.ScanUid, scan.HostId, scan.Was, RetentionDays);
        }
    }

    private async Task<int> SweepAsync(string sql)
    {
        await using var command = db.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = RetentionDays });
        return (int)(await command.ExecuteScalarAsync())!;
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Dropped {Count} scan staging partition(s), {Parts} part(s) of abandoned scans' unchanged folders and {Chunks} chunk record(s) of finished scans past retention")]
    private static partial void LogDropped(ILogger logger, int count, int parts, int chunks);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Scan {ScanId} ({ScanUid}) of host {HostId} was still {Status} when its staged rows expired after {Days} days: marked failed, the inventory unchanged; the agent's next scan starts afresh")]
    private static partial void LogScanExpired(ILogger logger, long scanId, Guid scanUid, Guid hostId, string status, int days);
}
