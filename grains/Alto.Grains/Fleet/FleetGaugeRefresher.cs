using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Alto.Grains.Fleet;

/// <summary>Alto:Metrics settings the grains' figures follow.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Alto:Metrics";

    /// <summary>How often the fleet gauges are read from the database (seconds, 1 to 3600).</summary>
    public int FleetRefreshSeconds { get; set; } = 15;

    /// <summary>How many hosts a process labels per-host series with by id; later ones share the label "other" (0: all do).</summary>
    public int HostLabelLimit { get; set; } = 100;
}

/// <summary>Reads the fleet gauges' counts from the database every period (one batch of five grouped counts); a failed reading keeps the last one and is logged.</summary>
public sealed partial class FleetGaugeRefresher(
    NpgsqlDataSource db, FleetGauges gauges, IOptions<MetricsOptions> options, TimeProvider time, ILogger<FleetGaugeRefresher> logger) : BackgroundService
{
    private static readonly string[] Queries =
    [
        "SELECT tenant_id, status, count(*) FROM alto.host GROUP BY 1, 2",
        "SELECT tenant_id, status, count(*) FROM alto.tiering_job WHERE status IN ('awaiting_approval', 'queued', 'dispatched', 'running') GROUP BY 1, 2",
        "SELECT tenant_id, status, count(*) FROM alto.scan WHERE status IN ('receiving', 'queued', 'ingesting') GROUP BY 1, 2",
        "SELECT tenant_id, 'pending', count(*) FROM alto.audit_update_batch WHERE applied_at IS NULL AND failed_at IS NULL GROUP BY 1",
        "SELECT h.tenant_id, c.kind, count(*) FROM alto.agent_command c JOIN alto.host h ON h.id = c.host_id GROUP BY 1, 2",
    ];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromSeconds(Math.Clamp(options.Value.FleetRefreshSeconds, 1, 3600));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                gauges.Update(await ReadAsync(stoppingToken), time.GetUtcNow());
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                LogReadFailed(logger, exception);
            }
            try
            {
                await Task.Delay(period, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task<FleetSnapshot> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var query in Queries)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(query));
        }
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var families = new List<List<FleetCount>>();
        do
        {
            var counts = new List<FleetCount>();
            while (await reader.ReadAsync(cancellationToken))
            {
                counts.Add(new FleetCount(reader.GetGuid(0), reader.GetString(1), reader.GetInt64(2)));
            }
            families.Add(counts);
        }
        while (await reader.NextResultAsync(cancellationToken));
        return new FleetSnapshot(families[0], families[1], families[2], families[3], families[4]);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The fleet gauges could not be read from the database; /metrics shows the last reading")]
    private static partial void LogReadFailed(ILogger logger, Exception exception);
}
