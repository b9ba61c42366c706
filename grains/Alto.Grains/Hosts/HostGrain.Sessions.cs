using Alto.Keys;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Live;
using Microsoft.Extensions.Logging;

namespace Alto.Grains.Hosts;

/// <summary>
/// The agent's live session: opened after its credential is checked, kept by heartbeats, ended by
/// the agent, by missed heartbeats, by a newer session or by a revoked credential. The session and
/// its observer live in memory only; the online/offline status and the last heartbeat are written.
/// </summary>
public sealed partial class HostGrain
{
    public async Task<SessionStanding> OpenSessionAsync(
        AgentSession session, string credential, TimeSpan heartbeatTimeout, IAgentSessionObserver observer)
    {
        if (!CredentialHolds(credential))
        {
            return SessionStanding.Revoked;
        }
        // The session this one replaces is ended now, not at its next message.
        if (_observer is { } previous && _session?.SessionId != session.SessionId)
        {
            await EndSessionAsync(previous, SessionStanding.Replaced, "a newer session of this host replaced this one");
        }
        _session = session;
        _observer = observer;
        _lastHeartbeat = time.GetUtcNow();
        _heartbeatTimeout = heartbeatTimeout;
        // Checked at a quarter of the timeout: a silent agent is offline within 1.25 timeouts.
        _livenessTimer?.Dispose();
        _livenessTimer = this.RegisterGrainTimer(CheckLivenessAsync, new GrainTimerCreationOptions
        {
            DueTime = heartbeatTimeout / 4,
            Period = heartbeatTimeout / 4,
            KeepAlive = true,
        });

        await ChangeAsync(state =>
        {
            state.Status = HostStatus.Online;
            state.AgentVersion = session.AgentVersion;
            state.UpdatedAt = _lastHeartbeat.Value;
        });
        await rows.UpdateHeartbeatAsync(Id, _lastHeartbeat.Value);
        await PublishStatusAsync();
        // What was queued while the agent was away goes out now, oldest first (but for runs that ended meanwhile); then the jobs.
        if (await commandRows.DropOfEndedRunsAsync(Id) is > 0 and var dropped)
        {
            LogEndedRunCommandsDropped(logger, Id, dropped);
            (_pendingCommands, _scanWaiting) = await commandRows.CountAsync(Id);
        }
        foreach (var command in await commandRows.ListAsync(Id))
        {
            if (!await TryDeliverAsync(command))
            {
                break;
            }
        }
        // The gateway's opening configuration carried the host's own limit; a window may change it later.
        _pushedBandwidth = host.State.BandwidthLimitBytesPerSecond ?? 0;
        await jobs.ReleaseLeasesAsync(Id);
        StartDispatchTimer();
        // The agent heartbeats from its welcome on, but the gateway hands its heartbeats on only once
        // this opening is done: however long the opening took (a busy database, a fleet connecting
        // at once), the agent's silence is counted from now, not from the opening's start.
        _lastHeartbeat = time.GetUtcNow();
        return SessionStanding.Current;
    }

    /// <summary>Sends the live session the host's settings; if its gateway is gone, the next session's welcome carries them.</summary>
    private async Task PushConfigurationAsync()
    {
        if (_observer is not { } observer)
        {
            return;
        }
        try
        {
            var bandwidth = EffectiveBandwidth();
            await observer.ConfigureAsync(host.State.Volumes, bandwidth, host.State.LucidLink).WaitAsync(TimeSpan.FromSeconds(10));
            _pushedBandwidth = bandwidth;
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            LogDeliveryFailed(logger, exception, "configuration", Id);
        }
    }

    /// <summary>Ends the live session at once, wherever it is held, when its credential stops holding.</summary>
    private async Task RevokeSessionAsync(string reason)
    {
        if (_observer is { } observer)
        {
            await EndSessionAsync(observer, SessionStanding.Revoked, reason);
        }
        ForgetSession();
    }

    /// <summary>No session any more: its observer and the timers that served it go.</summary>
    private void ForgetSession()
    {
        _session = null;
        _observer = null;
        _livenessTimer?.Dispose();
        _livenessTimer = null;
        _dispatchTimer?.Dispose();
        _dispatchTimer = null;
    }

    private async Task EndSessionAsync(IAgentSessionObserver observer, SessionStanding standing, string reason)
    {
        try
        {
            await observer.EndAsync(standing, reason).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // The gateway is gone, and the session with it.
            LogDeliveryFailed(logger, exception, "end-session", Id);
        }
    }

    public async Task<SessionStanding> HeartbeatAsync(Guid sessionId, string credential, AgentMetrics metrics)
    {
        if (!CredentialHolds(credential))
        {
            return SessionStanding.Revoked;
        }
        if (_session?.SessionId != sessionId)
        {
            return _session is null ? SessionStanding.Unknown : SessionStanding.Replaced;
        }
        var armedBefore = ArmedVolumes();
        var unsettledBefore = _metrics?.OperationsUnsettled ?? 0;
        if (metrics.OperationsUnsettled != unsettledBefore)
        {
            // Before the figures are kept: a change whose audit entry could not be written is reported again with the next heartbeat.
            await ReportUnsettledAsync(unsettledBefore, metrics);
        }
        _metrics = metrics;
        _lastHeartbeat = time.GetUtcNow();
        if (ArmedVolumes().Except(armedBefore).Any())
        {
            // Recall was armed for more of the host: jobs that waited for it go now, not at the next tick.
            DispatchInBackground();
        }
        if (host.State.Status != HostStatus.Online)
        {
            await SetStatusAsync(HostStatus.Online);
        }
        await rows.UpdateHeartbeatAsync(Id, _lastHeartbeat.Value);
        await live.PublishAsync(host.State.TenantId, LiveEventKinds.HostMetrics, LiveAudience.Everyone, new { hostId = Id, metrics }, Id);
        return SessionStanding.Current;
    }

    /// <summary>
    /// Files the agent's journal keeps unsettled (neither the original nor a settled stub) are an
    /// operator's business as soon as the agent says so: an error in the log and an audit entry
    /// whenever their number changes, and another once none is left. The metric is the gateway's
    /// (alto_agent_operations_unsettled), from the same heartbeat.
    /// </summary>
    private async Task ReportUnsettledAsync(int before, AgentMetrics metrics)
    {
        var details = new Dictionary<string, object?> { ["files"] = metrics.OperationsUnsettled, ["before"] = before, ["problem"] = metrics.UnsettledProblem };
        if (metrics.OperationsUnsettled > 0)
        {
            LogUnsettled(logger, Id, metrics.OperationsUnsettled, metrics.UnsettledProblem ?? "");
        }
        else
        {
            LogAllSettled(logger, Id, before);
        }
        await audit.RecordAsync(new Audit.AuditEntry(host.State.TenantId, $"agent:{Id}",
            metrics.OperationsUnsettled > 0 ? "agent.operations_unsettled" : "agent.operations_settled", "host", Id.ToString(),
            Succeeded: metrics.OperationsUnsettled == 0, details)
        { HostId = Id });
    }

    public async Task CloseSessionAsync(Guid sessionId)
    {
        if (_session?.SessionId != sessionId)
        {
            return;
        }
        await GoOfflineAsync();
    }

    private async Task CheckLivenessAsync(CancellationToken cancellationToken)
    {
        // A check that comes late found the grain busy (a long report): the heartbeats that waited
        // behind that work are not the agent's fault; they are handled before the next check.
        var now = time.GetUtcNow();
        var late = _lastLivenessCheck is { } previous && now - previous > _heartbeatTimeout / 2;
        _lastLivenessCheck = now;
        if (late)
        {
            return;
        }
        if (_session is not null && _lastHeartbeat is { } last && now - last > _heartbeatTimeout)
        {
            LogHeartbeatsMissed(logger, Id, last);
            await GoOfflineAsync();
        }
    }

    private async Task GoOfflineAsync()
    {
        ForgetSession();
        if (host.State.Status == HostStatus.Online)
        {
            await SetStatusAsync(HostStatus.Offline);
        }
    }

    private async Task SetStatusAsync(HostStatus status)
    {
        await ChangeAsync(state =>
        {
            state.Status = status;
            state.UpdatedAt = time.GetUtcNow();
        });
        await PublishStatusAsync();
    }

    private Task PublishStatusAsync() => live.PublishAsync(host.State.TenantId, LiveEventKinds.HostStatus, LiveAudience.Everyone,
        new { hostId = Id, name = host.State.Name, status = host.State.Status.ToString().ToLowerInvariant(), agentVersion = host.State.AgentVersion, lastHeartbeat = _lastHeartbeat }, Id);

    private bool CredentialHolds(string credential) =>
        host.State.Exists && host.State.Status != HostStatus.Disabled && EnrollmentTokens.Matches(credential, host.State.CredentialHash);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Command {CommandId} for host {HostId} stays queued: its session's gateway did not take it")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception exception, string commandId, Guid hostId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Host {HostId}: {Files} file(s) left unsettled by the agent: {Problem}")]
    private static partial void LogUnsettled(ILogger logger, Guid hostId, int files, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Host {HostId}: the {Files} file(s) the agent had left unsettled are settled")]
    private static partial void LogAllSettled(ILogger logger, Guid hostId, int files);

    [LoggerMessage(Level = LogLevel.Information, Message = "Host {HostId} is offline: no heartbeat since {LastHeartbeat}")]
    private static partial void LogHeartbeatsMissed(ILogger logger, Guid hostId, DateTimeOffset lastHeartbeat);

    [LoggerMessage(Level = LogLevel.Information, Message = "Host {HostId}: {Commands} command(s) of reconciliation runs that ended while its agent was away are not handed to it")]
    private static partial void LogEndedRunCommandsDropped(ILogger logger, Guid hostId, int commands);
}
