using Alto.GrainInterfaces.Scans;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Scans;

/// <summary>Drops scan staging partitions older than the retention (7 days) every hour.</summary>
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
        await using var command = db.CreateCommand("SELECT scan_staging.drop_expired_partitions($1)");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = RetentionDays });
        var dropped = (int)(await command.ExecuteScalarAsync())!;
        if (dropped > 0)
        {
            LogDropped(logger, dropped);
        }
        return dropped;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped {Count} scan staging partition(s) past retention")]
    private static partial void LogDropped(ILogger logger, int count);
}
