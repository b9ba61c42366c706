using Alto.GrainInterfaces.Scans;
using Npgsql;

namespace Alto.Silo.Scans;

/// <summary>
/// Once the silo is active, and every minute after, asks the ingest grain of every scan still
/// waiting ('queued') or interrupted ('ingesting') to run: no finished upload is ever left
/// without its ingest, whatever crashed in between. Also keeps the staging retention scheduled.
/// </summary>
public sealed partial class ScanRecovery(NpgsqlDataSource db, IGrainFactory grains, ILogger<ScanRecovery> logger)
    : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ScanRecovery), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public void Dispose() => _stopping.Dispose();

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1));
        try
        {
            do
            {
                await SweepAsync(cancellationToken);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
            // The silo is stopping.
        }
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            await grains.GetGrain<IStagingRetentionGrain>(0).EnsureScheduledAsync();
            foreach (var scanId in await WaitingScansAsync(cancellationToken))
            {
                await grains.GetGrain<IScanIngestGrain>(scanId).StartAsync();
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogSweepFailed(logger, exception);
        }
    }

    private async Task<List<long>> WaitingScansAsync(CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT id FROM alto.scan WHERE status IN ('queued', 'ingesting') ORDER BY id LIMIT 1000");
        var ids = new List<long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetInt64(0));
        }
        return ids;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweep of waiting scan ingests failed; trying again in a minute")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
