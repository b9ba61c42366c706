using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Alto.Agent.Enrollment;
using Alto.Protocol.Agent.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Connection;

/// <summary>What the agent knows about its link to the gateway, for status and tests.</summary>
public sealed class ConnectionState
{
    public bool Connected { get; internal set; }

    public string? SessionId { get; internal set; }

    public DateTimeOffset? LastHeartbeatSent { get; internal set; }

    public int Sessions { get; internal set; }

    public string? LastError { get; internal set; }

    /// <summary>The gateway of the current (or last) session.</summary>
    public Uri? Gateway { get; internal set; }

    /// <summary>The volumes the gateway's last configuration named.</summary>
    public IReadOnlyList<string>? Volumes { get; internal set; }

    /// <summary>Commands received and not yet finished.</summary>
    public int QueueDepth { get; internal set; }
}

/// <summary>The host credential was refused: reconnecting cannot help until the agent is enrolled again.</summary>
public sealed class CredentialRefusedException(string message) : Exception(message);

/// <summary>
/// The agent's session with its gateway: one bidirectional gRPC stream, opened with a hello,
/// kept alive with heartbeats, and opened again after any failure with jittered exponential
/// backoff (capped). The gateway's built-in call retries stop at the first response headers, so
/// a long-lived stream needs this loop of its own. On shutdown the request stream is completed,
/// so the gateway sees a clean end rather than a broken connection.
/// </summary>
public sealed partial class AgentConnection(
    AgentCredentials credentials,
    Func<IReadOnlyList<string>> volumes,
    ILogger<AgentConnection> logger,
    Func<GatewayMessage, CancellationToken, Task>? commands = null,
    TimeSpan? backoffCap = null,
    IReadOnlyList<Uri>? gatewayEndpoints = null,
    TargetDirectory? targets = null,
    ReportOutbox? reports = null,
    Recall.IRecallStatus? recall = null,
    Action<IReadOnlyList<string>>? volumesChanged = null,
    Func<LucidLink.LucidTrailStatus?>? lucidTrail = null,
    Func<IReadOnlyList<Jobs.WaitingOperation>>? waiting = null)
{
    /// <summary>Reports sent per second at most: well inside the gateway's per-session limit, whatever else the session sends.</summary>
    public const int ReportsPerSecond = 10;

    /// <summary>The gateways' gRPC addresses, tried in turn after a failure (default: the enrolled one).</summary>
    private readonly IReadOnlyList<Uri> _endpoints = gatewayEndpoints is { Count: > 0 } ? gatewayEndpoints : [credentials.Grpc];
    private int _endpoint;

    /// <summary>Ids of commands already handled: a command delivered again after a reconnect is acknowledged, not repeated.</summary>
    private readonly LinkedList<string> _handledOrder = new();
    private readonly HashSet<string> _handled = new(StringComparer.Ordinal);

    private static readonly TimeSpan BackoffBase = TimeSpan.FromSeconds(1);
    private readonly TimeSpan _backoffCap = backoffCap ?? TimeSpan.FromMinutes(2);

    public ConnectionState State { get; } = new();

    /// <summary>The recall this agent process holds, as heartbeats report it.</summary>
    public Recall.IRecallStatus? Recall => recall;

    /// <summary>Reports not yet acknowledged by the gateway.</summary>
    public int PendingReports => reports?.Count ?? 0;

    /// <summary>The LucidLink filespace whose audit trail to tail, as the last configuration gave it; null for none.</summary>
    public LucidLinkSettings? LucidLink { get; private set; }

    /// <summary>The tenant's storage targets (with their secrets) as jobs brought them, or fetched for a recall; memory only.</summary>
    public TargetDirectory Targets { get; } = targets ?? new();

    /// <summary>The host's bandwidth limit for uploads, as the last configuration gave it.</summary>
    public Jobs.BandwidthThrottle Throttle { get; } = new(TimeProvider.System);

    /// <summary>Jobs the cluster cancelled, for the job running (or still queued) to stop starting files.</summary>
    public Jobs.JobCancellations Cancellations { get; } = new();

    private ChannelWriter<AgentMessage>? _outbox;

    /// <summary>
    /// Commands from every session, carried out one at a time by one worker for the life of the
    /// agent: a job or a recall goes on to its end when the session it came on drops, and its
    /// acknowledgement goes out on whichever session is current then.
    /// </summary>
    private readonly Channel<GatewayMessage> _commands = Channel.CreateBounded<GatewayMessage>(new BoundedChannelOptions(100) { SingleReader = true });

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var worker = HandleCommandsAsync(stoppingToken);
        try
        {
            await RunSessionsAsync(stoppingToken);
        }
        finally
        {
            _commands.Writer.TryComplete();
            await worker.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task RunSessionsAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunSessionAsync(stoppingToken);
                failures = 0;
            }
            catch (Exception exception) when (stoppingToken.IsCancellationRequested && exception is RpcException or OperationCanceledException)
            {
                return;
            }
            catch (RpcException exception) when (exception.StatusCode == StatusCode.Unauthenticated)
            {
                State.Connected = false;
                State.LastError = exception.Status.Detail;
                throw new CredentialRefusedException(exception.Status.Detail);
            }
            catch (Exception exception) when (exception is RpcException or HttpRequestException or IOException && !stoppingToken.IsCancellationRequested)
            {
                State.Connected = false;
                State.LastError = exception is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : exception.Message;
                failures++;
                // The next attempt goes to the next gateway: one that died is not waited for.
                _endpoint = (_endpoint + 1) % _endpoints.Count;
                var delay = Backoff(failures);
                LogDisconnected(logger, State.LastError, delay.TotalSeconds);
                await Task.Delay(delay, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>base × 2^(n-1), capped, times a random factor in [0.5, 1.5) so that agents do not reconnect in step.</summary>
    public TimeSpan Backoff(int failures)
    {
        var exponential = Math.Min(_backoffCap.TotalSeconds, BackoffBase.TotalSeconds * Math.Pow(2, Math.Min(failures - 1, 20)));
        return TimeSpan.FromSeconds(exponential * (0.5 + Random.Shared.NextDouble()));
    }

    private async Task RunSessionAsync(CancellationToken stoppingToken)
    {
        using var channel = GrpcChannel.ForAddress(_endpoints[_endpoint]);
        State.Gateway = _endpoints[_endpoint];
        var client = new AgentService.AgentServiceClient(channel);
        // The call is not tied to the stopping token: stopping completes the request stream so the
        // gateway ends the call cleanly; only if it does not within 5 s is the call cancelled.
        using var session = new CancellationTokenSource();
        using var call = client.Connect(new Metadata { { "authorization", "Bearer " + credentials.Credential } }, cancellationToken: session.Token);

        var outbox = Channel.CreateBounded<AgentMessage>(new BoundedChannelOptions(64) { SingleReader = true });
        _outbox = outbox.Writer;
        using var onStop = stoppingToken.Register(() =>
        {
            outbox.Writer.TryComplete();
            session.CancelAfter(TimeSpan.FromSeconds(5));
        });
        await outbox.Writer.WriteAsync(new AgentMessage
        {
            Id = NewId(),
            Hello = new Hello
            {
                HostId = credentials.HostId.ToString(),
                AgentVersion = typeof(AgentConnection).Assembly.GetName().Version?.ToString() ?? "0.0.0",
                Os = OperatingSystem.IsWindows() ? "windows" : "linux",
                Capabilities = { HelloCapabilities() },
            },
        }, stoppingToken);

        var writer = WriteAllAsync(call.RequestStream, outbox.Reader, session.Token);
        using var heartbeatsStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        Task? heartbeats = null;
        Task? reporting = null;
        // Reports the cluster could not take now, with when to send them again on this session.
        var resend = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var deferralsInARow = 0;
        try
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync(session.Token))
            {
                if (message.BodyCase == GatewayMessage.BodyOneofCase.Welcome)
                {
                    State.Connected = true;
                    State.SessionId = message.Welcome.SessionId;
                    State.Sessions++;
                    State.LastError = null;
                    LogConnected(logger, message.Welcome.SessionId);
                    var period = TimeSpan.FromSeconds(Math.Max(1, message.Welcome.HeartbeatSeconds));
                    heartbeats ??= HeartbeatAsync(outbox.Writer, period, heartbeatsStop.Token);
                    reporting ??= reports is null ? null : SendReportsAsync(reports, resend, outbox.Writer, heartbeatsStop.Token);
                }
                else if (message.BodyCase == GatewayMessage.BodyOneofCase.Ack)
                {
                    if (message.Ack is { Ok: false, Retry: true } && reports?.Holds(message.Ack.MessageId) == true)
                    {
                        // The cluster could not take it now (busy, a silo or the database away): it stays, and goes again after a pause.
                        var pause = Backoff(++deferralsInARow);
                        resend[message.Ack.MessageId] = Stopwatch.GetTimestamp() + (long)(pause.TotalSeconds * Stopwatch.Frequency);
                        LogReportDeferred(logger, message.Ack.MessageId, message.Ack.Error, pause.TotalSeconds);
                        continue;
                    }
                    if (!message.Ack.Ok && reports?.Holds(message.Ack.MessageId) == true)
                    {
                        // Refused for good (it named what is not this host's): sending it again would change nothing.
                        LogReportRefused(logger, message.Ack.MessageId, message.Ack.Error);
                    }
                    else if (message.Ack.Ok && reports?.Holds(message.Ack.MessageId) == true)
                    {
                        deferralsInARow = 0;
                    }
                    reports?.Acknowledge(message.Ack.MessageId);
                }
                else if (message.BodyCase == GatewayMessage.BodyOneofCase.Configuration)
                {
                    State.Volumes = [.. message.Configuration.Volumes];
                    // Armed before the acknowledgement, so the next heartbeat already says whether recall covers them.
                    volumesChanged?.Invoke(State.Volumes);
                    Targets.Update(message.Configuration.Targets);
                    Throttle.BytesPerSecond = message.Configuration.BandwidthLimitBytesPerSecond;
                    LucidLink = message.Configuration.Lucidlink is { Enabled: true, FilespaceRoot.Length: > 0 } lucid ? lucid : null;
                    outbox.Writer.TryWrite(new AgentMessage { Id = NewId(), Ack = new Ack { MessageId = message.Id, Ok = true } });
                }
                else if (message.BodyCase == GatewayMessage.BodyOneofCase.Cancel)
                {
                    // Here, not in the queue of commands: the job to stop is the one that queue is running.
                    var known = Guid.TryParse(message.Cancel.JobId, out var jobId);
                    if (known)
                    {
                        LogJobCancelled(logger, jobId, Cancellations.Cancel(jobId));
                    }
                    outbox.Writer.TryWrite(new AgentMessage
                    {
                        Id = NewId(),
                        Ack = new Ack { MessageId = message.Id, Ok = known, Error = known ? "" : "cancel.job_id is not a job id" },
                    });
                }
                else if (message.BodyCase is not (GatewayMessage.BodyOneofCase.Ack or GatewayMessage.BodyOneofCase.Ping))
                {
                    // Commands run one at a time beside the reading loop, so heartbeats go on during a long scan.
                    await _commands.Writer.WriteAsync(message, session.Token);
                }
            }
        }
        finally
        {
            State.Connected = false;
            _outbox = null;
            outbox.Writer.TryComplete();
            await heartbeatsStop.CancelAsync();
            if (heartbeats is not null)
            {
                await heartbeats.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            if (reporting is not null)
            {
                await reporting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            await writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task HandleCommandsAsync(CancellationToken cancellationToken)
    {
        var inbox = _commands.Reader;
        await foreach (var command in inbox.ReadAllAsync(cancellationToken))
        {
            string? error = null;
            State.QueueDepth = inbox.Count + 1;
            if (!_handled.Contains(command.Id))
            {
                try
                {
                    if (commands is not null)
                    {
                        await commands(command, cancellationToken);
                    }
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    error = exception.Message;
                }
                Remember(command.Id);
            }
            State.QueueDepth = inbox.Count;
            // On the session current now; with none, the cluster delivers the command again and it is acknowledged then, not repeated.
            _outbox?.TryWrite(new AgentMessage
            {
                Id = NewId(),
                Ack = new Ack { MessageId = command.Id, Ok = error is null, Error = error ?? "" },
            });
        }
    }

    private void Remember(string commandId)
    {
        if (_handled.Add(commandId))
        {
            _handledOrder.AddLast(commandId);
            if (_handledOrder.Count > 1000)
            {
                _handled.Remove(_handledOrder.First!.Value);
                _handledOrder.RemoveFirst();
            }
        }
    }

    private static async Task WriteAllAsync(IClientStreamWriter<AgentMessage> requests, ChannelReader<AgentMessage> outbox, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in outbox.ReadAllAsync(cancellationToken))
            {
                await requests.WriteAsync(message, cancellationToken);
            }
        }
        finally
        {
            // A clean end of the request stream tells the gateway this session is over.
            await requests.CompleteAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>
    /// Sends every unacknowledged report of the outbox (those of earlier sessions first), then each
    /// new one as it comes, at most <see cref="ReportsPerSecond"/> a second. A report goes once per
    /// session, and again on it only when the gateway said "send it again" (<paramref name="resend"/>:
    /// the report's id and the timestamp it is due at); one the gateway never acknowledged goes again in the next.
    /// </summary>
    private static async Task SendReportsAsync(
        ReportOutbox reports, ConcurrentDictionary<string, long> resend, ChannelWriter<AgentMessage> outbox, CancellationToken cancellationToken)
    {
        var sent = new HashSet<string>(StringComparer.Ordinal);
        var added = new SemaphoreSlim(0);
        void Wake() => added.Release();
        reports.Added += Wake;
        try
        {
            using var pace = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / ReportsPerSecond));
            while (!cancellationToken.IsCancellationRequested)
            {
                foreach (var report in reports.Pending())
                {
                    if (!sent.Add(report.Id))
                    {
                        continue;
                    }
                    await outbox.WriteAsync(report, cancellationToken);
                    await pace.WaitForNextTickAsync(cancellationToken);
                }
                // Woken by a new report, or once a second to forget the acknowledged ones.
                await added.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken);
                sent.RemoveWhere(id => !reports.Holds(id));
                var now = Stopwatch.GetTimestamp();
                foreach (var (id, due) in resend)
                {
                    if (due <= now && resend.TryRemove(id, out _))
                    {
                        sent.Remove(id);
                    }
                }
            }
        }
        finally
        {
            reports.Added -= Wake;
            added.Dispose();
        }
    }

    private async Task HeartbeatAsync(ChannelWriter<AgentMessage> outbox, TimeSpan period, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(period);
        do
        {
            var unsettled = waiting?.Invoke() ?? [];
            var heartbeat = new Heartbeat
            {
                OperationsUnsettled = unsettled.Count,
                UnsettledProblem = Jobs.WaitingOperations.Describe(unsettled) ?? "",
                SentAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                QueueDepth = State.QueueDepth,
                RecallSurvivesRestart = recall?.SurvivesRestart ?? false,
                RecallProblem = recall?.Problem ?? (recall is null ? "this agent does not recall stubs on open" : ""),
                RecallsTotal = recall?.Counts.Recalled ?? 0,
                RecallsFailed = recall?.Counts.Failed ?? 0,
                RecallsRefused = recall?.Counts.Refused ?? 0,
                RecallsWaiting = recall?.Waiting ?? 0,
                LucidlinkTrail = lucidTrail?.Invoke() is { } trail
                    ? new LucidLinkTrail
                    {
                        EventsApplied = trail.EventsApplied,
                        LinesMalformed = trail.LinesMalformed,
                        LinesDuplicate = trail.LinesDuplicate,
                        LinesQuarantined = trail.LinesQuarantined,
                        QuarantineOverflow = trail.QuarantineOverflow,
                        NewestAppliedEvent = trail.NewestAppliedEvent is { } newest ? Timestamp.FromDateTimeOffset(newest) : null,
                        Problem = trail.Problem ?? "",
                    }
                    : null,
            };
            var armed = recall?.Volumes.ToDictionary(volume => volume.Path, StringComparer.Ordinal) ?? [];
            // Every volume is reported, even one this agent cannot look at: the cluster must know it is not armed.
            foreach (var volume in State.Volumes ?? volumes())
            {
                var space = VolumeSpaceOf(volume) ?? new VolumeSpace { Path = volume };
                var known = armed.GetValueOrDefault(volume);
                space.RecallArmed = known?.Armed ?? false;
                space.RecallReason = known is null ? "recall was not armed for this volume" : known.Reason ?? "";
                heartbeat.Volumes.Add(space);
            }
            if (!outbox.TryWrite(new AgentMessage { Id = NewId(), Heartbeat = heartbeat }))
            {
                // The session is closing (or the gateway is not reading): no heartbeat to send.
                return;
            }
            State.LastHeartbeatSent = DateTimeOffset.UtcNow;
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }

    private static VolumeSpace? VolumeSpaceOf(string path)
    {
        try
        {
            var drive = new DriveInfo(path);
            return new VolumeSpace { Path = path, FreeBytes = drive.AvailableFreeSpace, TotalBytes = drive.TotalSize };
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private static string NewId() => Guid.NewGuid().ToString("N");

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cluster could not take report {ReportId} now ({Reason}); it goes again in {Seconds:0.0} s")]
    private static partial void LogReportDeferred(ILogger logger, string reportId, string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "The cluster refused report {ReportId}: {Reason}")]
    private static partial void LogReportRefused(ILogger logger, string reportId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cluster cancelled job {JobId} (running here: {Running}); its files not started are not tiered")]
    private static partial void LogJobCancelled(ILogger logger, Guid jobId, bool running);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to the gateway (session {SessionId})")]
    private static partial void LogConnected(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway session lost ({Reason}); reconnecting in {Seconds:0.0} s")]
    private static partial void LogDisconnected(ILogger logger, string reason, double seconds);

    /// <summary>
    /// What this agent tells the cluster it can do. paths:escaped: names that are not UTF-8 may be
    /// given escaped (a census's ReconcileRequest.escaped_paths, a re-tier's pathEscaped copy);
    /// census:windows: a Windows agent answers a census of its stubs (through its stub driver).
    /// </summary>
    private static string[] HelloCapabilities() =>
        OperatingSystem.IsWindows() ? ["scan:csv", "scan:parquet", "paths:escaped", "census:windows"] : ["scan:csv", "scan:parquet", "paths:escaped"];
}
