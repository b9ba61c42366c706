using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tiers;
using Alto.Gateway.Options;
using Alto.Keys;
using Alto.Protocol.Agent.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Alto.Gateway.Grpc;

/// <summary>
/// AgentService.Connect: one long-lived stream per agent. The host credential comes in the
/// call's metadata; the first message must be a Hello for that same host. The host grain is told
/// of the session, of every heartbeat, and of its end; when it answers that the session was
/// replaced or the credential revoked, the stream ends with that status. Writes go through one
/// bounded channel; a session that floods is cut off without touching the others.
/// </summary>
public sealed partial class AgentSessionService(
    IGrainFactory grains, IOptions<AgentSessionOptions> options, Auth.RefusalAudit refusals, AgentHeartbeatGauges heartbeats,
    MomentaryCallFailures momentaryFailures, ILogger<AgentSessionService> logger) : AgentService.AgentServiceBase
{
    /// <summary>Names this gateway process in host detail ("which gateway holds the stream").</summary>
    public static readonly string GatewayName = $"{Environment.MachineName}:{Environment.ProcessId}";

    public override async Task Connect(
        IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<GatewayMessage> responseStream, ServerCallContext context)
    {
        var settings = options.Value;
        var credential = Credential(context);
        if (!EnrollmentTokens.TryReadHostId(credential, EnrollmentTokens.CredentialPrefix, out var hostId))
        {
            await RefuseAsync(context, StatusCode.Unauthenticated, "a host credential is required (authorization: Bearer alto_host_...)", null, verified: false);
            return;
        }
        var host = grains.GetGrain<IHostGrain>(hostId.Value.ToString());
        if (await host.AuthenticateAsync(credential!) is not { } identity)
        {
            await RefuseAsync(context, StatusCode.Unauthenticated, "the host credential is not valid (revoked, replaced, the host or its tenant disabled)", hostId, verified: false);
            return;
        }

        // Everything this session does in the cluster is the agent's, from this address (audit entries say so).
        Alto.Audit.AuditContext.Set($"agent:{hostId.Value}", context.Peer);
        var hello = await ReadHelloAsync(requestStream, settings, context.CancellationToken);
        if (!Guid.TryParse(hello.HostId, out var helloHost) || helloHost != hostId)
        {
            await RefuseAsync(context, StatusCode.PermissionDenied, "the hello names another host than the credential", hostId, verified: true, identity.TenantId);
            return;
        }

        var sessionId = Guid.NewGuid();
        var session = new AgentSession(sessionId, GatewayName, AgentText.Readable(hello.AgentVersion, 100), AgentText.Readable(hello.Os, 20),
            [.. hello.Capabilities.Take(64).Select(capability => AgentText.Readable(capability, 100))], DateTimeOffset.UtcNow);
        var outbox = Channel.CreateBounded<GatewayMessage>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = false });
        // The host grain reaches this session through the observer, from any silo, whichever
        // gateway or silo issued the command.
        using var observer = new SessionObserver(outbox.Writer);
        using var sessionEnds = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, observer.Ended);
        // The welcome and the configuration are queued first: whatever the host grain sends once
        // the session is open (queued commands, jobs) comes after them on the stream.
        await outbox.Writer.WriteAsync(new GatewayMessage
        {
            Id = Guid.NewGuid().ToString("N"),
            Welcome = new Welcome { SessionId = sessionId.ToString(), HeartbeatSeconds = settings.HeartbeatSeconds },
        }, context.CancellationToken);
        if (await host.GetAsync() is { } registered)
        {
            var configuration = new Configuration
            {
                Volumes = { registered.Volumes },
                BandwidthLimitBytesPerSecond = registered.BandwidthLimitBytesPerSecond ?? 0,
                Lucidlink = LucidLinkSettingsOf(registered.LucidLink),
            };
            // No storage targets here: their secrets go out only inside jobs, and on request for a recall (agents/targets/{id}/access).
            await outbox.Writer.WriteAsync(new GatewayMessage { Id = Guid.NewGuid().ToString("N"), Configuration = configuration }, context.CancellationToken);
        }

        var observerReference = grains.CreateObjectReference<IAgentSessionObserver>(observer);
        var standing = await host.OpenSessionAsync(session, credential!, TimeSpan.FromSeconds(settings.HeartbeatTimeoutSeconds), observerReference);
        EndIfNotCurrent(standing);
        LogOpened(logger, hostId.Value, sessionId, session.AgentVersion);

        var writer = Task.Run(async () =>
        {
            await foreach (var message in outbox.Reader.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(message, context.CancellationToken);
            }
        }, context.CancellationToken);
        try
        {
            using var budget = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = settings.MessagesPerSecond * 2,
                TokensPerPeriod = settings.MessagesPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
            await foreach (var message in ReadUntilRevokedAsync(requestStream, observer, sessionEnds.Token))
            {
                using var lease = budget.AttemptAcquire();
                if (!lease.IsAcquired)
                {
                    ThrowStatus(StatusCode.ResourceExhausted, $"more than {settings.MessagesPerSecond} messages per second");
                }
                // A report that names what is not this host's is refused whole: the acknowledgement says why.
                // One the cluster cannot take now is answered "send it again"; the session goes on.
                string? refusal = null;
                string? deferral = null;
                try
                {
                    switch (message.BodyCase)
                    {
                        case AgentMessage.BodyOneofCase.Heartbeat:
                            var metrics = ToMetrics(message.Heartbeat);
                            EndIfNotCurrent(await host.HeartbeatAsync(sessionId, credential!, metrics));
                            heartbeats.Report(hostId.Value, identity.TenantId, metrics);
                            break;
                        case AgentMessage.BodyOneofCase.Ack:
                            await host.AcknowledgeAsync(AgentText.Readable(message.Ack.MessageId, 64), message.Ack.Ok, AgentText.ReadableOrNull(message.Ack.Error, 2000));
                            break;
                        case AgentMessage.BodyOneofCase.RecallEvent:
                            refusal = await host.RecordRecallsAsync(ReportId(message), [RecallMessages.FromEvent(message.RecallEvent, "recall_event")]);
                            break;
                        case AgentMessage.BodyOneofCase.RecallReport:
                            refusal = await host.RecordRecallsAsync(ReportId(message), RecallMessages.FromReport(message.RecallReport));
                            break;
                        case AgentMessage.BodyOneofCase.JobResult:
                            var (jobId, results) = JobMessages.FromMessage(message.JobResult);
                            refusal = await host.RecordJobResultsAsync(ReportId(message), jobId, results, message.JobResult.JobFinished);
                            break;
                        case AgentMessage.BodyOneofCase.Hello:
                            ThrowStatus(StatusCode.InvalidArgument, "hello is only the first message of a session");
                            break;
                        case AgentMessage.BodyOneofCase.None:
                            ThrowStatus(StatusCode.InvalidArgument, $"message '{AgentText.Readable(message.Id, 64)}' has no body");
                            break;
                    }
                }
                catch (RpcException exception) when (exception.StatusCode == StatusCode.InvalidArgument && IsReport(message.BodyCase) && message.Id.Length > 0)
                {
                    // A report that breaks the protocol is refused like one naming what is not the host's: ending
                    // the session instead would only bring the same report back, from the agent's queue, forever.
                    refusal = exception.Status.Detail;
                    await host.RefuseMalformedReportAsync(KindOf(message.BodyCase), AgentText.Readable(message.Id, 64), refusal);
                }
                catch (Exception exception) when (MomentaryCallFailures.IsMomentary(exception))
                {
                    deferral = momentaryFailures.Deferred(hostId.Value, KindOf(message.BodyCase), AgentText.Readable(message.Id, 64), exception);
                }
                if (message.BodyCase != AgentMessage.BodyOneofCase.Ack && message.Id.Length > 0)
                {
                    await outbox.Writer.WriteAsync(new GatewayMessage
                    {
                        Id = Guid.NewGuid().ToString("N"),
                        Ack = deferral is not null
                            ? new Ack { MessageId = AgentText.Readable(message.Id, 64), Ok = false, Retry = true, Error = "not taken now, send it again: " + deferral }
                            : new Ack { MessageId = AgentText.Readable(message.Id, 64), Ok = refusal is null, Error = refusal is null ? "" : "refused: " + refusal },
                    }, context.CancellationToken);
                }
            }
        }
        finally
        {
            outbox.Writer.TryComplete();
            await host.CloseSessionAsync(sessionId);
            grains.DeleteObjectReference<IAgentSessionObserver>(observerReference);
            heartbeats.Forget(hostId.Value);
            LogClosed(logger, hostId.Value, sessionId);
            await writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static bool IsReport(AgentMessage.BodyOneofCase body) =>
        body is AgentMessage.BodyOneofCase.RecallEvent or AgentMessage.BodyOneofCase.RecallReport or AgentMessage.BodyOneofCase.JobResult;

    private static string KindOf(AgentMessage.BodyOneofCase body) => body switch
    {
        AgentMessage.BodyOneofCase.Heartbeat => "heartbeat",
        AgentMessage.BodyOneofCase.Ack => "ack",
        AgentMessage.BodyOneofCase.RecallEvent => "recall_event",
        AgentMessage.BodyOneofCase.RecallReport => "recall_report",
        AgentMessage.BodyOneofCase.JobResult => "job_result",
        _ => "other",
    };

    /// <summary>Turns the host grain's commands into messages on this session's stream.</summary>
    private sealed class SessionObserver(ChannelWriter<GatewayMessage> outbox) : IAgentSessionObserver, IDisposable
    {
        private readonly CancellationTokenSource _revoked = new();

        public Task ConfigureAsync(string[] volumes, long bandwidthLimitBytesPerSecond, LucidLinkVolume? lucidLink) => outbox.WriteAsync(new GatewayMessage
        {
            Id = Guid.NewGuid().ToString("N"),
            Configuration = new Configuration
            {
                Volumes = { volumes },
                BandwidthLimitBytesPerSecond = bandwidthLimitBytesPerSecond,
                Lucidlink = LucidLinkSettingsOf(lucidLink),
            },
        }).AsTask();

        /// <summary>Why the host grain ended the session, as the gRPC status to end it with.</summary>
        public Status? EndedWith { get; private set; }

        public CancellationToken Ended => _revoked.Token;

        public Task EndAsync(SessionStanding standing, string reason)
        {
            EndedWith = new Status(standing == SessionStanding.Revoked ? StatusCode.Unauthenticated : StatusCode.Aborted, reason);
            return _revoked.CancelAsync();
        }

        public void Dispose() => _revoked.Dispose();

        public Task DeliverJobAsync(TierJobPayload job) => outbox.WriteAsync(JobMessages.ToMessage(job)).AsTask();

        public Task CancelJobAsync(Guid jobId) =>
            outbox.WriteAsync(new GatewayMessage { Id = Guid.NewGuid().ToString("N"), Cancel = new Cancel { JobId = jobId.ToString() } }).AsTask();

        public async Task DeliverAsync(AgentCommand command)
        {
            var message = new GatewayMessage { Id = command.Id };
            switch (command.Kind)
            {
                case AgentCommandKind.Scan:
                    message.ScanRequest = new ScanRequest { Format = command.Format, Paths = { command.Paths } };
                    break;
                case AgentCommandKind.Recall:
                    message.RecallRequest = new RecallRequest { Paths = { command.Paths }, PathsEscaped = command.Format == AgentCommand.EscapedPaths };
                    break;
                case AgentCommandKind.Reconcile:
                    message.ReconcileRequest = new ReconcileRequest { RunId = command.RunId?.ToString() ?? "" };
                    break;
                case AgentCommandKind.Census:
                    message.ReconcileRequest = new ReconcileRequest { RunId = command.RunId?.ToString() ?? "", Census = true };
                    (command.Format == AgentCommand.EscapedPaths ? message.ReconcileRequest.EscapedPaths : message.ReconcileRequest.Paths).Add(command.Paths);
                    break;
                case AgentCommandKind.Restore:
                    message.ReconcileRequest = new ReconcileRequest { RunId = command.RunId?.ToString() ?? "", Restore = true };
                    break;
            }
            // Bounded: a stuck agent makes the grain's call time out rather than grow memory here.
            await outbox.WriteAsync(message);
        }
    }

    /// <summary>The agent's messages, until the stream ends or the host grain ends the session (with the status it gave).</summary>
    private static async IAsyncEnumerable<AgentMessage> ReadUntilRevokedAsync(
        IAsyncStreamReader<AgentMessage> requestStream, SessionObserver observer,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            bool more;
            try
            {
                more = await requestStream.MoveNext(cancellationToken);
            }
            catch (OperationCanceledException) when (observer.EndedWith is { } status)
            {
                throw new RpcException(status);
            }
            if (!more)
            {
                yield break;
            }
            yield return requestStream.Current;
        }
    }

    private static async Task<Hello> ReadHelloAsync(
        IAsyncStreamReader<AgentMessage> requestStream, AgentSessionOptions settings, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(settings.HelloTimeoutSeconds));
        try
        {
            if (!await requestStream.MoveNext(timeout.Token))
            {
                ThrowStatus(StatusCode.InvalidArgument, "the stream ended before its hello");
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ThrowStatus(StatusCode.DeadlineExceeded, $"no hello within {settings.HelloTimeoutSeconds} s");
        }
        return requestStream.Current.BodyCase == AgentMessage.BodyOneofCase.Hello
            ? requestStream.Current.Hello
            : throw new RpcException(new Status(StatusCode.InvalidArgument, "the first message of a session must be a hello"));
    }

    /// <summary>A report's id: the agent sends a report under one id until it is acknowledged, and the cluster applies an id once.</summary>
    private static string ReportId(AgentMessage message) =>
        message.Id.Length is > 0 and <= 64 ? message.Id : throw new RpcException(new Status(StatusCode.InvalidArgument, "a report needs a message id of 1 to 64 characters"));

    private static LucidLinkSettings LucidLinkSettingsOf(LucidLinkVolume? lucidLink) => lucidLink is null
        ? new LucidLinkSettings { Enabled = false }
        : new LucidLinkSettings { Enabled = true, FilespaceRoot = lucidLink.FilespaceRoot, PollSeconds = lucidLink.PollSeconds };

    private static void EndIfNotCurrent(SessionStanding standing)
    {
        switch (standing)
        {
            case SessionStanding.Revoked:
                ThrowStatus(StatusCode.Unauthenticated, "the host credential no longer holds (re-enrolled or disabled)");
                break;
            case SessionStanding.Replaced:
                ThrowStatus(StatusCode.Aborted, "a newer session of this host replaced this one");
                break;
            case SessionStanding.Unknown:
                ThrowStatus(StatusCode.Unavailable, "the cluster no longer knows this session (a silo restarted); reconnect");
                break;
        }
    }

    private static string? Credential(ServerCallContext context)
    {
        var header = context.RequestHeaders.GetValue("authorization");
        const string bearer = "Bearer ";
        return header is not null && header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) ? header[bearer.Length..].Trim() : null;
    }

    private static AgentMetrics ToMetrics(Heartbeat heartbeat)
    {
        var sent = AgentFigures.Moment(heartbeat.SentAt);
        return new AgentMetrics(
            sent ?? DateTimeOffset.UtcNow,
            AgentFigures.Share(heartbeat.CpuPercent),
            [.. heartbeat.Volumes.Take(256).Select(volume => new GrainInterfaces.Hosts.VolumeSpace(AgentText.Readable(volume.Path, 4096),
                AgentFigures.Count(volume.FreeBytes), AgentFigures.Count(volume.TotalBytes))
            {
                RecallArmed = volume.RecallArmed,
                RecallReason = AgentText.ReadableOrNull(volume.RecallReason, 500),
            })],
            AgentFigures.Count(heartbeat.QueueDepth),
            AgentFigures.Count(heartbeat.RecallsTotal),
            AgentFigures.Count(heartbeat.RecallsFailed))
        {
            RecallSurvivesRestart = heartbeat.RecallSurvivesRestart,
            RecallProblem = AgentText.ReadableOrNull(heartbeat.RecallProblem, 500),
            RecallsRefused = AgentFigures.Count(heartbeat.RecallsRefused),
            OperationsUnsettled = AgentFigures.Count(heartbeat.OperationsUnsettled),
            RecallsWaiting = AgentFigures.Count(heartbeat.RecallsWaiting),
            UnsettledProblem = AgentText.ReadableOrNull(heartbeat.UnsettledProblem, 2000),
            LucidLinkTrail = heartbeat.LucidlinkTrail is { } trail ? ToTrail(trail, sent) : null,
        };
    }

    private static LucidTrailMetrics ToTrail(LucidLinkTrail trail, DateTimeOffset? sent)
    {
        var newest = AgentFigures.Moment(trail.NewestAppliedEvent);
        return new LucidTrailMetrics(AgentFigures.Count(trail.EventsApplied), AgentFigures.Count(trail.LinesMalformed), AgentFigures.Count(trail.LinesDuplicate),
            AgentFigures.Count(trail.LinesQuarantined), AgentFigures.Count(trail.QuarantineOverflow), newest, AgentText.ReadableOrNull(trail.Problem, 500))
        {
            // As of the heartbeat: how far the newest applied event lies behind the agent's clock.
            LagSeconds = newest is { } applied && sent is { } at ? Math.Max(0, (at - applied).TotalSeconds) : null,
        };
    }

    [DoesNotReturn]
    private static void ThrowStatus(StatusCode code, string detail) => throw new RpcException(new Status(code, detail));

    /// <summary>
    /// A session refused before it began: counted and audited (with the caller's address), then
    /// ended with <paramref name="code"/> (this throws). A host the credential only claims is named
    /// in the details; the entry is that host's only when the credential proved it.
    /// </summary>
    private async Task RefuseAsync(ServerCallContext context, StatusCode code, string reason, Guid? hostId, bool verified, Guid? tenantId = null)
    {
        await refusals.RecordAsync(context.GetHttpContext(), "agent.session_refused", reason,
            new Dictionary<string, object?> { ["status"] = code.ToString(), ["peer"] = context.Peer, ["claimedHostId"] = verified ? null : hostId },
            tenantId, verified ? hostId : null);
        ThrowStatus(code, reason);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent session {SessionId} of host {HostId} opened (agent {AgentVersion})")]
    private static partial void LogOpened(ILogger logger, Guid hostId, Guid sessionId, string agentVersion);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent session {SessionId} of host {HostId} closed")]
    private static partial void LogClosed(ILogger logger, Guid hostId, Guid sessionId);
}
