using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Scans;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Scans;

/// <summary>
/// The ingest worker of one scan. The merge itself is one database transaction
/// (<see cref="InventoryMerge"/>), so the grain keeps no state of its own: a reminder, registered
/// before work starts and removed after it commits, brings the ingest back if a silo dies
/// half-way; the interrupted transaction has rolled back and the merge simply runs again.
/// </summary>
public sealed partial class ScanIngestGrain(
    InventoryMerge merge,
    MergeSlots slots,
    ScanMetrics metrics,
    Live.LivePublisher live,
    ILogger<ScanIngestGrain> logger) : Grain, IScanIngestGrain, IRemindable
{
    private const string RetryReminder = "ingest";
    private Task? _running;

    public async Task StartAsync()
    {
        if (_running is { IsCompleted: false })
        {
            return;
        }
        await this.RegisterOrUpdateReminder(RetryReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        // A grain timer runs the work on this grain's scheduler without holding the caller.
        this.RegisterGrainTimer(_ => RunAsync(), new GrainTimerCreationOptions
        {
            DueTime = TimeSpan.Zero,
            Period = Timeout.InfiniteTimeSpan,
            Interleave = true,
        });
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => StartAsync();

    private Task RunAsync()
    {
        if (_running is { IsCompleted: false })
        {
            return Task.CompletedTask;
        }
        _running = IngestAsync();
        return _running;
    }

    private async Task IngestAsync()
    {
        var scanId = this.GetPrimaryKeyLong();
        MergeResult? result;
        long started;
        try
        {
            // The scan stays queued until the silo has a merge slot for it.
            using var slot = await slots.TakeAsync(CancellationToken.None);
            started = System.Diagnostics.Stopwatch.GetTimestamp();
            result = await merge.MergeAsync(scanId, CancellationToken.None);
        }
        catch (Exception exception) when (DatabaseOutage.Is(exception))
        {
            // The database is unreachable or busy, or the merge's statement was cancelled: the reminder tries again.
            LogWillRetry(logger, exception, scanId);
            return;
        }
        catch (Exception exception)
        {
            // Bad data or a bug, not an outage: retrying cannot help, so say so on the scan.
            LogFailed(logger, exception, scanId);
            if (await merge.MarkFailedAsync(scanId, exception is PostgresException postgres ? postgres.MessageText : exception.Message, CancellationToken.None) is { } tenantId)
            {
                metrics.Failed(tenantId);
            }
            await ForgetReminderAsync();
            return;
        }

        if (result is not null)
        {
            metrics.Completed(result.TenantId, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, result.FilesSeen);
            metrics.RootsEmptied(result.TenantId, result.EmptiedRoots.Count);
            await GrainFactory.GetGrain<IHostGrain>(result.HostId.ToString())
                .RecordScanAsync(result.CompletedAt, result.LiveFiles, result.LiveBytes);
            var stream = this.GetStreamProvider(StreamNames.Provider)
                .GetStream<ScanCompleted>(StreamId.Create(StreamNames.ScanCompleted, result.HostId));
            await stream.OnNextAsync(new ScanCompleted(
                scanId, result.TenantId, result.HostId, result.CompletedAt, result.FilesSeen, result.FilesChanged, result.FilesDeleted));
            await live.PublishAsync(result.TenantId, GrainInterfaces.Live.LiveEventKinds.ScanCompleted, GrainInterfaces.Live.LiveAudience.Everyone, new
            {
                scanId, hostId = result.HostId, completedAt = result.CompletedAt, filesSeen = result.FilesSeen, filesChanged = result.FilesChanged,
                filesDeleted = result.FilesDeleted, liveFiles = result.LiveFiles, liveBytes = result.LiveBytes,
            }, result.HostId);
            LogCompleted(logger, scanId, result.FilesSeen, result.FilesChanged, result.FilesDeleted);
        }
        await ForgetReminderAsync();
        DeactivateOnIdle();
    }

    private async Task ForgetReminderAsync()
    {
        if (await this.GetReminder(RetryReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scan {ScanId} ingested: {Seen} files seen, {Changed} new or changed, {Deleted} gone")]
    private static partial void LogCompleted(ILogger logger, long scanId, long seen, long changed, long deleted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ingest of scan {ScanId} interrupted; it will be retried")]
    private static partial void LogWillRetry(ILogger logger, Exception exception, long scanId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Ingest of scan {ScanId} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, long scanId);
}
