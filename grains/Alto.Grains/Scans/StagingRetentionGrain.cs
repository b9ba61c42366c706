using Alto.GrainInterfaces.Scans;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Scans;

/// <summary>
/// Drops scan staging partitions older than the retention (7 days) every hour, and the unchanged
/// folders of incremental scans abandoned as long ago.
/// </summary>
public sealed partial class StagingRetentionGrain(NpgsqlDataSource db, ILogger<StagingRetentionGrain> logger) : Grain, IStagingRetentionGrain, IRemindable
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
        var dropped = await SweepAsync("SELECT scan_staging.drop_expired_partitions($1)");
        var parts = await SweepAsync("SELECT scan_staging.drop_expired_unchanged_parts($1)");
        if (dropped > 0 || parts > 0)
        {
            LogDropped(logger, dropped, parts);
        }
        return dropped;
    }

    private async Task<int> SweepAsync(string sql)
    {
        await using var command = db.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = RetentionDays });
        return (int)(await command.ExecuteScalarAsync())!;
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Dropped {Count} scan staging partition(s) and {Parts} part(s) of abandoned scans' unchanged folders past retention")]
    private static partial void LogDropped(ILogger logger, int count, int parts);
}
