using System.Runtime.Versioning;
using Alto.Agent.Enrollment;
using Alto.Agent.Jobs;
using Alto.Agent.Recall;
using Alto.Agent.Stubs;
using Alto.Agent.Scanning;
using Alto.Protocol.Agent.V1;
using Alto.Scanning;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Connection;

/// <summary>How <c>alto-agent run</c> holds recall (with the guard or alone), how long it waits on a silent tier 2 and how many stubs it recalls at once, and how often it tries unsettled files again.</summary>
public sealed record AgentRunSettings(RecallGuarding Guarding, RecallLimits? Recall = null, TimeSpan? FolderStall = null, TimeSpan? UnsettledRetryPeriod = null);

/// <summary>
/// The long-running agent service. Recall comes first: stubs made before this start are answered
/// from its first moment, whether or not the gateway can be reached. Then the journal is settled,
/// and the session with the gateway is held until the host stops the service.
/// </summary>
public sealed partial class AgentWorker(
    AgentCredentials credentials, AgentStateDirectory stateDirectory, AgentRunSettings settings, IHostApplicationLifetime lifetime,
    ILoggerFactory loggers, ILogger<AgentWorker> logger) : BackgroundService
{
    public const int ExitCredentialRefused = 3;
    public const int ExitRecallHeldElsewhere = 4;

    /// <summary>Why this platform's stub driver is not running (no license, no driver), for the commands that need it.</summary>
    private string? _noStubDriver;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var gateway = new GatewayClient(http, credentials);
        // Encrypted objects' keys are unwrapped by the cluster, which alone holds the tenant key; and it is asked about every stub before its recall.
        var stubCheck = new ClusterStubCheck(gateway, loggers.CreateLogger<ClusterStubCheck>());
        var cluster = new RecallCluster(gateway.UnwrapDataKeyAsync, stubCheck.CheckAsync);
        var targets = new TargetDirectory(gateway.GetTargetAsync, settings.FolderStall, loggers.CreateLogger<TargetDirectory>());
        using var reports = new ReportOutbox(stateDirectory.Path, loggers.CreateLogger<ReportOutbox>());
        var recalls = new RecallReporter(reports);
        ArmedRecall? recall;
        try
        {
            recall = OperatingSystem.IsLinux() ? ArmRecall(targets, recalls, cluster) : null;
        }
        catch (RecallHeldElsewhereException exception)
        {
            LogRecallHeldElsewhere(logger, exception.Message);
            Environment.ExitCode = ExitRecallHeldElsewhere;
            lifetime.StopApplication();
            return;
        }
        using var recallScope = recall;
        // The platform's stubs, chosen here once: fanotify and trusted.alto.* on Linux, the EaseFilter CloudTier driver on Windows.
        using var cloudTier = OperatingSystem.IsWindows() ? StartCloudTier(targets, cluster) : null;
        IStubDriver? stubs = OperatingSystem.IsLinux() ? new LinuxStubDriver(recall?.Hooks) : OperatingSystem.IsWindows() ? cloudTier?.Driver : null;
        using var journal = stubs is not null ? new OperationJournal(stateDirectory.Path) : null;
        using var settling = stubs is not null
            ? new UnsettledRetry(journal!, stubs, settings.UnsettledRetryPeriod ?? UnsettledRetry.DefaultPeriod, loggers.CreateLogger<UnsettledRetry>())
            : null;
        settling?.SettleAtStart();
        if (OperatingSystem.IsLinux() && recall is not null && WriterProbe.LeasesTurnedOff())
        {
            LogLeasesTurnedOff(logger);
        }
        if (OperatingSystem.IsLinux() && recall is not null && settling is not null)
        {
            // A volume remounted read-write is what most files left unsettled wait for.
            recall.MountsChanged += settling.TryNow;
        }

        string[] volumes = [];
        try
        {
            volumes = (await gateway.GetOwnHostAsync(stoppingToken)).Volumes;
        }
        catch (Exception exception) when (exception is HttpRequestException or EnrollmentException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
        {
            // The volumes come again with the session's configuration; recall of known volumes is armed already.
            LogNoVolumes(logger, exception.Message);
        }
        if (OperatingSystem.IsLinux())
        {
            recall?.Arm(volumes);
        }

        // A LucidLink filespace's audit trail, when the cluster names one for this host; its figures ride on the heartbeats.
        var lucidTrail = new LucidLink.LucidTrailUploader(credentials.TenantId, credentials.HostId, stateDirectory.Path, gateway.SendTrailUpdatesAsync,
            loggers.CreateLogger<LucidLink.LucidTrailUploader>());
        AgentConnection? connection = null;
        var handlers = Handlers(gateway, () => volumes, () => connection!, journal, stubs, recall, reports, recalls, cluster);
        Func<GatewayMessage, CancellationToken, Task> commands = settling is null
            ? handlers.HandleAsync
            : (command, cancellationToken) => settling.RunExclusiveAsync(() => handlers.HandleAsync(command, cancellationToken), cancellationToken);
        connection = new AgentConnection(credentials, () => volumes, loggers.CreateLogger<AgentConnection>(), commands,
            targets: targets, reports: reports, recall: recall,
            volumesChanged: configured =>
            {
                volumes = [.. configured];
                if (OperatingSystem.IsLinux())
                {
                    recall?.Arm(configured);
                }
            },
            lucidTrail: () => lucidTrail.Status,
            waiting: () => journal?.Waiting ?? []);
        var reporting = recalls.RunAsync(stoppingToken);
        var migration = OperatingSystem.IsLinux() && recall is not null
            ? MigrateLegacyStubsAsync([.. volumes.Union(recall.Volumes.Select(volume => volume.Path), StringComparer.Ordinal)], stubCheck, stoppingToken)
            : Task.CompletedTask;
        var status = KeepStatusFileAsync(connection, journal, stoppingToken);
        var retrying = settling?.RunAsync(stoppingToken) ?? Task.CompletedTask;
        var lucid = lucidTrail.RunAsync(() => connection.LucidLink is { } settings ? (settings.FilespaceRoot, Math.Max(1, settings.PollSeconds)) : null, stoppingToken);
        StopOnFault(reporting, "reporting recalls to the cluster", stoppingToken);
        StopOnFault(status, "keeping the status file", stoppingToken);
        StopOnFault(retrying, "settling files left between original and stub", stoppingToken);
        StopOnFault(lucid, "following the LucidLink audit trail", stoppingToken);
        StopOnFault(migration, "moving version-1 stubs to trusted markers", stoppingToken);
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
        await reporting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await migration.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await retrying.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        try
        {
            await AgentStatusSnapshot.Of(connection.State, recall, reports.Count, journal?.Waiting).WriteAsync(stateDirectory.Path, CancellationToken.None);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            LogStatusNotWritten(logger, exception.Message);
        }
    }

    /// <summary>
    /// A part of the agent that runs beside the session and ends by a fault would leave the agent
    /// half working in silence (recalls no longer reported, the trail no longer followed): it is
    /// logged as critical and the agent stops with exit code 1, for its service manager to start
    /// it again whole. The recall guard keeps stubs' opens waiting meanwhile.
    /// </summary>
    private void StopOnFault(Task part, string what, CancellationToken stoppingToken) =>
        _ = part.ContinueWith(
            faulted =>
            {
                LogPartFailed(logger, what, faulted.Exception!.GetBaseException().Message);
                // A part failing while the agent already stops is said, and the stop stays the one asked for.
                if (!stoppingToken.IsCancellationRequested)
                {
                    Environment.ExitCode = 1;
                    lifetime.StopApplication();
                }
            },
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    private async Task KeepStatusFileAsync(AgentConnection connection, OperationJournal? journal, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        string? failing = null;
        do
        {
            try
            {
                await AgentStatusSnapshot.Of(connection.State, connection.Recall, connection.PendingReports, journal?.Waiting).WriteAsync(stateDirectory.Path, stoppingToken);
                failing = null;
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // A full or read-only state disk: said once; the status is written again when it can be (the heartbeats carry the same facts).
                if (failing != exception.Message)
                {
                    LogStatusNotWritten(logger, exception.Message);
                }
                failing = exception.Message;
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>
    /// Takes the recall group (from the guard, which keeps it while this process restarts) and
    /// arms every volume this host ever armed. Without fanotify pre-content events (not root, or an
    /// older kernel) it says so: nothing is tiered then, and stubs are recalled by command only.
    /// </summary>
    [SupportedOSPlatform("linux")]
    private ArmedRecall ArmRecall(TargetDirectory targets, RecallReporter recalls, RecallCluster cluster) =>
        // Each recall is reported to the cluster (the tier object goes RECALLED), through the outbox: none is lost.
        ArmedRecall.Start(stateDirectory.Path, settings.Guarding, [], targets.RecallStore, loggers.CreateLogger<ArmedRecall>(), recalls.Report, cluster, settings.Recall);

    /// <summary>Version-1 stubs move to trusted, bound markers in the background, each once the cluster confirms it.</summary>
    [SupportedOSPlatform("linux")]
    private async Task MigrateLegacyStubsAsync(string[] volumes, ClusterStubCheck check, CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            await new LegacyStubMigration(stateDirectory.Path, check.CheckAsync, loggers.CreateLogger<LegacyStubMigration>()).RunAsync(volumes, stoppingToken);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            LogMigrationFailed(logger, exception.Message);
        }
    }

    [SupportedOSPlatform("windows")]
    private Stubs.Windows.CloudTierSession? StartCloudTier(TargetDirectory targets, RecallCluster cluster)
    {
        var session = Stubs.Windows.CloudTierSession.TryStart(stateDirectory.Path, targets.RecallStore, cluster, settings.Recall?.Stall, out var whyNot);
        if (session is null)
        {
            _noStubDriver = whyNot;
            LogNoStubDriver(logger, whyNot!);
        }
        return session;
    }

    /// <summary>
    /// The commands this agent runs: scans and listings everywhere; recalls and tiering jobs where
    /// the platform's stub driver runs (each refused with its reason where it does not).
    /// </summary>
    private CommandHandlers Handlers(
        GatewayClient gateway, Func<string[]> volumes, Func<AgentConnection> connection, OperationJournal? journal, IStubDriver? stubs, ArmedRecall? recall,
        ReportOutbox reports, RecallReporter recalls, RecallCluster cluster)
    {
        var handlers = new CommandHandlers().Register(GatewayMessage.BodyOneofCase.ReconcileRequest, (command, cancellationToken) =>
        {
            var request = command.ReconcileRequest;
            if (!Guid.TryParse(request.RunId, out var runId))
            {
                throw new InvalidDataException($"'{request.RunId}' is not a run id");
            }
            if (request.Restore)
            {
                return OperatingSystem.IsLinux()
                    ? new Reconcile.CopyRestorer(gateway, connection().Targets, credentials.TenantId, loggers.CreateLogger<Reconcile.CopyRestorer>())
                        .RunAsync(runId, volumes(), cancellationToken)
                    : throw new NotSupportedException("lost stubs are re-tiered from copies on Linux agents only");
            }
            if (!request.Census)
            {
                return new Reconcile.ReconcileRunner(gateway, connection().Targets, credentials.TenantId, loggers.CreateLogger<Reconcile.ReconcileRunner>())
                    .RunAsync(runId, cancellationToken);
            }
            var census = new Reconcile.StubCensus(gateway, loggers.CreateLogger<Reconcile.StubCensus>());
            if (OperatingSystem.IsLinux())
            {
                return census.RunAsync(runId, request.Paths, request.EscapedPaths, volumes(), cancellationToken);
            }
            // Elsewhere the stub driver tells a stub from a file; where none runs, each stub is reported unreadable, saying why.
            var scope = volumes();
            return census.SendAsync(runId,
            [
                .. request.Paths.Select(path => stubs is not null
                    ? Reconcile.DriverStubCensus.Look(stubs, path, candidate => ScopeRefusal(candidate, scope))
                    : Reconcile.StubCensus.Unreadable(path, "the stubs cannot be read: " + (_noStubDriver ?? "no stub driver runs on this host"))),
                .. request.EscapedPaths.Select(Reconcile.DriverStubCensus.NotLookedAtEscaped),
            ], cancellationToken);
        });
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
        {
            handlers.Register(GatewayMessage.BodyOneofCase.ScanRequest, (command, cancellationToken) => ScanAsync(gateway, command.ScanRequest, volumes(), cancellationToken));
        }
        if (stubs is null && _noStubDriver is { } reason)
        {
            // Refused with the driver's own reason, not as a command this agent does not know.
            Task RefuseAsync(GatewayMessage command, CancellationToken cancellationToken) => throw new NotSupportedException(reason);
            return handlers.Register(GatewayMessage.BodyOneofCase.RecallRequest, RefuseAsync).Register(GatewayMessage.BodyOneofCase.TieringJob, RefuseAsync);
        }
        return stubs is not null ? StubHandlers(handlers, volumes, connection, journal!, stubs, recall, reports, recalls, cluster) : handlers;
    }

    private CommandHandlers StubHandlers(
        CommandHandlers handlers, Func<string[]> volumes, Func<AgentConnection> connection, OperationJournal journal, IStubDriver stubs,
        ArmedRecall? recall, ReportOutbox reports, RecallReporter recalls, RecallCluster cluster) =>
        handlers
            .Register(GatewayMessage.BodyOneofCase.RecallRequest, (command, cancellationToken) =>
                RecallAsync(command.RecallRequest, volumes(), connection(), journal, stubs, recalls, cluster, cancellationToken))
            .Register(GatewayMessage.BodyOneofCase.TieringJob, (command, cancellationToken) =>
            {
                // A file of a job must be below the host's volumes (links resolved here) and, on Linux, where recall on open is armed.
                var scope = volumes();
                string? Refusal(string path) => ScopeRefusal(path, scope) ?? (OperatingSystem.IsLinux() ? recall?.RefusalFor(path) : null);
                return new AgentJobRunner(journal, stubs, connection().Targets, connection().Throttle, connection().Cancellations,
                    loggers.CreateLogger<AgentJobRunner>(), Refusal)
                    .RunAsync(command.TieringJob, reports, cancellationToken);
            });

    /// <summary>Why the cluster may not have this host touch <paramref name="path"/> (the platform's own path rules), or null.</summary>
    private static string? ScopeRefusal(string path, IReadOnlyList<string> volumes) =>
        OperatingSystem.IsLinux() ? VolumeScope.Refusal(path, volumes)
        : OperatingSystem.IsWindows() ? WindowsVolumeScope.Refusal(path, volumes, Win32FileFacts.FinalPath)
        : "this platform has no volumes the agent may touch";

    /// <summary>The path to recall and why it is refused, if it is. Names that are not UTF-8 come escaped; on Linux each is opened by its own bytes (<see cref="RawPaths"/>).</summary>
    private static (string Path, string? Refusal) Judge(string path, bool escaped, IReadOnlyList<string> volumes)
    {
        if (!escaped)
        {
            return (path, ScopeRefusal(path, volumes));
        }
        if (!OperatingSystem.IsLinux())
        {
            return (path, "names escaped as bytes are recalled on Linux only");
        }
        if (!PathEncoding.IsWellFormed(path, PathEncodingKind.Escaped))
        {
            return (path, $"{path} is not a well-formed escaped path");
        }
        var raw = RawPaths.FromEscaped(path);
        return (raw, ScopeRefusal(raw, volumes));
    }

    private async Task RecallAsync(
        RecallRequest request, string[] volumes, AgentConnection connection, OperationJournal journal, IStubDriver stubs,
        RecallReporter recalls, RecallCluster cluster, CancellationToken cancellationToken)
    {
        // Only stubs below the host's volumes are the cluster's to recall; the rest is refused, and the acknowledgement says so.
        // Each path judged once: resolving it is a system call per path on Linux, handle opens per volume on Windows.
        var judged = request.Paths.Select(path => Judge(path, request.PathsEscaped, volumes)).ToList();
        var refused = judged.Select(item => item.Refusal).OfType<string>().ToList();
        var inside = judged.Where(item => item.Refusal is null).Select(item => item.Path).ToList();
        // Judged again by the file each open reaches: a local user may swap a folder for a link after the check above.
        var runner = new RecallRunner(journal, stubs, connection.Targets.RecallStore, loggers.CreateLogger<RecallRunner>(), cluster,
            refusal: path => ScopeRefusal(path, volumes));
        var outcomes = await runner.RecallAsync(inside, cancellationToken);
        foreach (var outcome in outcomes)
        {
            recalls.Report(outcome);
        }
        if (refused.Count > 0)
        {
            throw new InvalidOperationException($"refused {refused.Count} path(s) of the recall: {refused[0]}");
        }
        if (runner.FailedWithoutStub.Count > 0)
        {
            throw new InvalidOperationException($"{runner.FailedWithoutStub.Count} path(s) of the recall failed: {runner.FailedWithoutStub[0]}");
        }
    }

    private async Task ScanAsync(GatewayClient gateway, ScanRequest request, string[] volumes, CancellationToken cancellationToken)
    {
        if (request.Paths.Select(path => ScopeRefusal(path, volumes)).FirstOrDefault(refusal => refusal is not null) is { } refused)
        {
            throw new InvalidOperationException("refused the scan: " + refused);
        }
        var roots = request.Paths.Count > 0 ? request.Paths.ToArray() : volumes;
        if (roots.Length == 0)
        {
            throw new InvalidOperationException("nothing to scan: no paths and no registered volumes");
        }
        var format = request.Format == "parquet" ? "parquet" : "csv";
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var sink = new UploadSink(http, credentials.Gateway, credentials.Credential, credentials.HostId, credentials.TenantId, roots);
        var counters = new ScanCounters();
        var digestsFile = Path.Combine(stateDirectory.Path, FolderDigests.FileName);
        var digests = await FolderDigests.ForScanAsync(digestsFile, full: false, FolderDigests.ThisHost, () => gateway.GetLastScanAsync(cancellationToken));
        LogScanRequested(logger, string.Join(", ", roots), digests.BaseScanId?.ToString() ?? "none: a full scan");
        var result = await new ScanRunner(sink).RunAsync(
            new ScanSettings(roots, format, ChunkCompressionKind.Zstd, 50_000, Math.Max(2, Environment.ProcessorCount), CrossMounts: false, digests,
                RootRefusal: reached => ScopeRefusal(reached, volumes)),
            counters, cancellationToken);
        FolderDigests.Save(digestsFile, digests.After(result.ScanId, roots));
        LogScanDone(logger, result.ScanId, counters.ToString(), result.FoldersUnchanged);
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "The agent stops: {What} failed ({Reason}); its service manager starts it again")]
    private static partial void LogPartFailed(ILogger logger, string what, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The status file (alto-agent status) cannot be written: {Reason}; it is tried again every 2 s")]
    private static partial void LogStatusNotWritten(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "{Reason}: stop it first (alto-agent status shows it)")]
    private static partial void LogRecallHeldElsewhere(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scan requested by the gateway: {Roots} (unchanged folders since scan {BaseScan} left out)")]
    private static partial void LogScanRequested(ILogger logger, string roots, string baseScan);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scan {ScanId} uploaded: {Summary}; {Unchanged} unchanged folder(s) named, not sent")]
    private static partial void LogScanDone(ILogger logger, Guid scanId, string summary, int unchanged);

    [LoggerMessage(Level = LogLevel.Critical, Message = "No stub driver: {Reason}; scans go on, tiering jobs and recalls are refused")]
    private static partial void LogNoStubDriver(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read this host's volumes from the gateway: {Reason}")]
    private static partial void LogNoVolumes(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The gateway refused this host's credential ({Reason}); enroll the agent again")]
    private static partial void LogCredentialRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leases are turned off on this machine (fs.leases-enable = 0): whether another program has a file open or mapped for writing cannot be told, so a file a program writes through a mapping may be made a stub and those writes lost; turn leases on (sysctl fs.leases-enable=1)")]
    private static partial void LogLeasesTurnedOff(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Moving version-1 stubs to trusted markers stopped (it resumes at the next start): {Reason}")]
    private static partial void LogMigrationFailed(ILogger logger, string reason);
}
