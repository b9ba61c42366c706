using Alto.Agent.Enrollment;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Connection;

/// <summary>The long-running agent service: holds the session with the gateway until the host stops it.</summary>
public sealed partial class AgentWorker(
    AgentCredentials credentials, IHostApplicationLifetime lifetime, ILoggerFactory loggers, ILogger<AgentWorker> logger) : BackgroundService
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

        var connection = new AgentConnection(credentials, () => volumes, loggers.CreateLogger<AgentConnection>());
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
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read this host's volumes from the gateway: {Reason}")]
    private static partial void LogNoVolumes(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The gateway refused this host's credential ({Reason}); enroll the agent again")]
    private static partial void LogCredentialRefused(ILogger logger, string reason);
}
