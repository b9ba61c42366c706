using Alto.Agent.Enrollment;
using Alto.Agent.Jobs;
using Alto.Agent.Stubs;
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

        // Encrypted objects' keys are unwrapped by the cluster, which alone holds the tenant key.
        var gateway = new GatewayClient(http, credentials);
        DataKeyUnwrap unwrap = gateway.UnwrapDataKeyAsync;
        AgentConnection? connection = null;
        using var journal = OperatingSystem.IsLinux() ? new OperationJournal(stateDirectory.Path) : null;
        connection = new AgentConnection(credentials, () => volumes, loggers.CreateLogger<AgentConnection>(),
            (command, cancellationToken) => HandleAsync(command, volumes, connection!, journal, unwrap, cancellationToken),
            targets: new TargetDirectory(gateway.GetTargetAsync));
        using var recall = OperatingSystem.IsLinux() ? StartLinuxStubs(journal!, volumes, connection, unwrap) : null;
        var status = KeepStatusFileAsync(connection, stoppingToken);
        // A LucidLink filespace's audit trail, when the cluster names one for this host.
        var lucid = new LucidLink.LucidAuditUploader(credentials.TenantId, credentials.HostId, stateDirectory.Path, gateway.SendAuditUpdatesAsync,
            loggers.CreateLogger<LucidLink.LucidAuditUploader>())
            .RunAsync(() => connection.LucidLink is { } settings ? (settings.FilespaceRoot, Math.Max(1, settings.PollSeconds)) : null, stoppingToken);
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
        await lucid.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
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

    /// <summary>
    /// Settles what a crash left in the journal, then watches the volumes for opens of stubs.
    /// Without fanotify pre-content events (not root, or an older kernel) it says so: recall is
    /// then by command only.
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private RecallListener? StartLinuxStubs(OperationJournal journal, string[] volumes, AgentConnection connection, DataKeyUnwrap unwrap)
    {
        foreach (var settled in JournalRecovery.Recover(journal, LinuxStubDriver.Instance))
        {
            LogSettled(logger, settled.Operation, settled.Path, settled.IsStub ? "a valid stub" : "the original file");
        }
        var watched = volumes.Where(Directory.Exists).ToArray();
        if (watched.Length == 0)
        {
            return null;
        }
        var listener = RecallListener.TryStart(watched, connection.Targets.Store, loggers.CreateLogger<RecallListener>(), out var whyNot,
            // Each recall is reported to the cluster (the tier object goes RECALLED); one lost with a session is harmless.
            recalled => _ = connection.SendAsync(RecallMessage(recalled), CancellationToken.None), unwrap);
        if (listener is null)
        {
            LogNoTransparentRecall(logger, whyNot!);
        }
        return listener;
    }

    private static AgentMessage RecallMessage(RecallOutcome recalled) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        RecallEvent = new RecallEvent
        {
            FilePath = recalled.Path,
            Ok = recalled.Error is null,
            DurationMs = (long)recalled.Duration.TotalMilliseconds,
            Error = recalled.Error ?? "",
        },
    };

    /// <summary>A command from the cluster: scan now, recall these stubs, or a tiering job.</summary>
    private async Task HandleAsync(
        GatewayMessage command, string[] volumes, AgentConnection connection, OperationJournal? journal, DataKeyUnwrap unwrap,
        CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        if (command.BodyCase == GatewayMessage.BodyOneofCase.RecallRequest)
        {
            var outcomes = await new RecallRunner(journal!, LinuxStubDriver.Instance, connection.Targets.Store, loggers.CreateLogger<RecallRunner>(), unwrap)
                .RecallAsync(command.RecallRequest.Paths, cancellationToken);
            foreach (var outcome in outcomes)
            {
                await connection.SendAsync(RecallMessage(outcome), cancellationToken);
            }
            return;
        }
        if (command.BodyCase == GatewayMessage.BodyOneofCase.TieringJob)
        {
            await new AgentJobRunner(journal!, connection.Targets, connection.Throttle, loggers.CreateLogger<AgentJobRunner>())
                .RunAsync(command.TieringJob, connection.SendAsync, cancellationToken);
            return;
        }
        if (command.BodyCase != GatewayMessage.BodyOneofCase.ScanRequest)
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Settled an interrupted {Operation} of {Path}: {Result}")]
    private static partial void LogSettled(ILogger logger, string operation, string path, string result);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No transparent recall on this host ({Reason}); stubs are recalled by command only")]
    private static partial void LogNoTransparentRecall(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scan requested by the gateway: {Roots}")]
    private static partial void LogScanRequested(ILogger logger, string roots);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scan {ScanId} uploaded: {Summary}")]
    private static partial void LogScanDone(ILogger logger, Guid scanId, string summary);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read this host's volumes from the gateway: {Reason}")]
    private static partial void LogNoVolumes(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The gateway refused this host's credential ({Reason}); enroll the agent again")]
    private static partial void LogCredentialRefused(ILogger logger, string reason);
}
