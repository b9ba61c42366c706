using Alto.Agent.Enrollment;
using Alto.Agent.Scanning;
using Alto.Protocol.Agent.V1;
using Alto.Scanning;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Connection;

/// <summary>The long-running agent service: holds the session with the gateway until the host stops it.</summary>
public sealed partial class AgentWorker(
    AgentCredentials credentials, AgentStateDirectory stateDirectory, IHostApplicationLifetime lifetime, ILoggerFactory loggers,
    ILogger<AgentWorker> logger) : BackgroundService
{
    public const int ExitCredentialRefused = 3;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        string[] volumes = [];
        try
        {
            volumes = (await new GatewayClient(http, credentials).GetOwnHostAsync(stoppingToken)).Volumes;
        }
        catch (Exception exception) when (exception is HttpRequestException or EnrollmentException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
        {
            // Volumes only feed the heartbeat's free-space figures; the session matters more.
            LogNoVolumes(logger, exception.Message);
        }

        var connection = new AgentConnection(credentials, () => volumes, loggers.CreateLogger<AgentConnection>(),
            (command, cancellationToken) => HandleAsync(command, volumes, cancellationToken));
        var status = KeepStatusFileAsync(connection, stoppingToken);
        try
        {
            await connection.RunAsync(stoppingToken);
        }
        catch (CredentialRefusedException exception)
        {
            LogCredentialRefused(logger, exception.Message);
            Environment.ExitCode = ExitCredentialRefused;
            lifetime.StopApplication();
        }
        await status.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await AgentStatusSnapshot.Of(connection.State).WriteAsync(stateDirectory.Path, CancellationToken.None);
    }

    private async Task KeepStatusFileAsync(AgentConnection connection, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        do
        {
            await AgentStatusSnapshot.Of(connection.State).WriteAsync(stateDirectory.Path, stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>A command from the cluster: today "scan now".</summary>
    private async Task HandleAsync(GatewayMessage command, string[] volumes, CancellationToken cancellationToken)
    {
        if (command.BodyCase != GatewayMessage.BodyOneofCase.ScanRequest || !OperatingSystem.IsLinux())
        {
            return;
        }
        var roots = command.ScanRequest.Paths.Count > 0 ? command.ScanRequest.Paths.ToArray() : volumes;
        if (roots.Length == 0)
        {
            throw new InvalidOperationException("nothing to scan: no paths and no registered volumes");
        }
        var format = command.ScanRequest.Format == "parquet" ? "parquet" : "csv";
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var sink = new UploadSink(http, credentials.Gateway, credentials.Credential, credentials.HostId, credentials.TenantId, roots);
        var counters = new ScanCounters();
        LogScanRequested(logger, string.Join(", ", roots));
        var result = await new ScanRunner(sink).RunAsync(
            new ScanSettings(roots, format, ChunkCompressionKind.Zstd, 50_000, Math.Max(2, Environment.ProcessorCount), CrossMounts: false),
            counters, cancellationToken);
        LogScanDone(logger, result.ScanId, counters.ToString());
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scan requested by the gateway: {Roots}")]
    private static partial void LogScanRequested(ILogger logger, string roots);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scan {ScanId} uploaded: {Summary}")]
    private static partial void LogScanDone(ILogger logger, Guid scanId, string summary);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read this host's volumes from the gateway: {Reason}")]
    private static partial void LogNoVolumes(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The gateway refused this host's credential ({Reason}); enroll the agent again")]
    private static partial void LogCredentialRefused(ILogger logger, string reason);
}
