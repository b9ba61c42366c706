using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tenants;
using Alto.GrainInterfaces.Tiers;
using Alto.Grains.Audit;
using Alto.Grains.Persistence;
using Alto.Grains.Planning;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Hosts;

/// <summary>
/// One file server. Holds registration and enrollment state now; agent sessions, scans and jobs
/// join it in later stages. alto.host is its read model, written only here.
/// </summary>
public sealed partial class HostGrain(
    [PersistentState(StorageNames.HostState, StorageNames.Grains)] IPersistentState<HostState> host,
    HostRows rows,
    JobRows jobs,
    AdminAudit audit,
    AuditUpdates.AuditUpdateApplier auditUpdates,
    TieringMetrics tieringMetrics,
    HostPlanner planner,
    Tiers.TierObjectLedger ledger,
    IOptions<PlannerOptions> plannerOptions,
    IOptions<DispatchOptions> dispatchOptions,
    IOptions<Tiers.TierRetryOptions> retryOptions,
    IGrainFactory grains,
    TimeProvider time,
    ILogger<HostGrain> logger) : Grain, IHostGrain, IRemindable
{
    /// <summary>A host whose agent is away for long does not collect commands without end.</summary>
    public const int MaxPendingCommands = 100;

    private Guid Id => Guid.Parse(this.GetPrimaryKeyString());

    // The live session is volatile by nature: it lives in memory while the agent is connected;
    // only the online/offline status and the last heartbeat time are written down.
    private AgentSession? _session;
    private AgentMetrics? _metrics;
    private DateTimeOffset? _lastHeartbeat;
    private TimeSpan _heartbeatTimeout = TimeSpan.FromSeconds(90);
    private IGrainTimer? _livenessTimer;
    private DateTimeOffset? _lastLivenessCheck;
    private IAgentSessionObserver? _observer;
    private IGrainTimer? _dispatchTimer;
    private long? _pushedBandwidth;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (host.State.Exists)
            {
                await rows.UpsertAsync(Id, host.State);
            }
            else
            {
                await rows.DeleteOrphanAsync(Id);
            }
        }
        catch (NpgsqlException exception)
        {
            LogResyncFailed(logger, exception, Id);
        }
    }

    public Task<HostInfo?> GetAsync() => Task.FromResult(host.State.Exists ? ToInfo() : null);

    public async Task<CommandResult<HostRegistration>> RegisterAsync(RegisterHost command)
    {
        if (host.State.Exists)
        {
            return CommandResult<HostRegistration>.Conflict($"host {Id} already exists");
        }

        var tenant = await grains.GetGrain<ITenantGrain>(command.TenantId.ToString()).GetAsync();
        if (tenant is null)
        {
            return CommandResult<HostRegistration>.NotFound($"tenant {command.TenantId} not found");
        }
        if (tenant.Status == TenantStatus.Disabled)
        {
            return CommandResult<HostRegistration>.Conflict($"tenant {command.TenantId} is disabled");
        }

        var now = time.GetUtcNow();
        var token = EnrollmentTokens.NewEnrollmentToken(Id);
        var registered = new HostState
        {
            Exists = true,
            TenantId = command.TenantId,
            Name = command.Name,
            Os = command.Os,
            Volumes = command.Volumes,
            Status = HostStatus.Registered,
            EnrollmentTokenHash = EnrollmentTokens.Hash(token),
            EnrollmentExpiresAt = now + command.EnrollmentTokenLifetime,
            CreatedAt = now,
            UpdatedAt = now,
        };

        // The row's unique index keeps host names unique within a tenant.
        var claimed = await ClaimedWrite.CreateAsync(
            host, registered, () => rows.InsertAsync(Id, registered), () => rows.DeleteOrphanAsync(Id), () => new HostState());
        if (!claimed)
        {
            return CommandResult<HostRegistration>.Conflict($"a host named '{command.Name}' already exists in this tenant");
        }
        await AuditAsync("host.registered", null);
        return CommandResult<HostRegistration>.Ok(new HostRegistration(ToInfo(), token));
    }

    /// <summary>
    /// Redeems the enrollment token for a credential. The token is spent only once the agent has
    /// used the credential (<see cref="AuthenticateAsync"/>): an agent that could not store it
    /// (a state folder it may not write) redeems the same token again, and the earlier, never-used
    /// credential stops holding.
    /// </summary>
    public async Task<CommandResult<HostEnrollment>> EnrollAsync(EnrollHost command)
    {
        if (!host.State.Exists)
        {
            return CommandResult<HostEnrollment>.NotFound("the enrollment token is not valid");
        }
        if (host.State.Status == HostStatus.Disabled)
        {
            return CommandResult<HostEnrollment>.Conflict("this host is disabled");
        }
        if (EnrollmentTokens.Matches(command.EnrollmentToken, host.State.UsedEnrollmentTokenHash))
        {
            return CommandResult<HostEnrollment>.Conflict(
                "this enrollment token was already used; ask an admin for a new one (POST .../hosts/{hostId}/enrollment-token)");
        }
        if (!EnrollmentTokens.Matches(command.EnrollmentToken, host.State.EnrollmentTokenHash))
        {
            return CommandResult<HostEnrollment>.NotFound("the enrollment token is not valid");
        }
        var now = time.GetUtcNow();
        if (host.State.EnrollmentExpiresAt is { } expires && expires <= now)
        {
            return CommandResult<HostEnrollment>.Conflict(
                $"this enrollment token expired at {expires:u}; ask an admin for a new one (POST .../hosts/{{hostId}}/enrollment-token)");
        }

        var credential = EnrollmentTokens.NewCredential(Id);
        var before = host.State;
        var again = before.CredentialUnconfirmed;
        host.State = Copy(before);
        host.State.CredentialHash = EnrollmentTokens.Hash(credential);
        host.State.CredentialUnconfirmed = true;
        host.State.EnrolledAt = now;
        host.State.AgentVersion = command.AgentVersion;
        host.State.Status = host.State.Status == HostStatus.Online ? HostStatus.Online : HostStatus.Enrolled;
        host.State.UpdatedAt = now;
        var beforeInfo = ToInfo(before);
        await PersistAsync(before);
        await AuditAsync("host.credential_issued", beforeInfo, new Dictionary<string, object?>
        {
            ["agentVersion"] = command.AgentVersion, ["machineName"] = command.MachineName, ["reissued"] = again,
        });
        await RevokeSessionAsync("the host was enrolled again; its old credential no longer holds");
        return CommandResult<HostEnrollment>.Ok(new HostEnrollment(Id, host.State.TenantId, credential));
    }

    public async Task<CommandResult<HostRegistration>> RenewEnrollmentTokenAsync(TimeSpan lifetime)
    {
        if (!host.State.Exists)
        {
            return CommandResult<HostRegistration>.NotFound($"host {Id} not found");
        }
        var now = time.GetUtcNow();
        var token = EnrollmentTokens.NewEnrollmentToken(Id);
        await AuditedChangeAsync("host.enrollment_token_renewed", state =>
        {
            state.EnrollmentTokenHash = EnrollmentTokens.Hash(token);
            state.EnrollmentExpiresAt = now + lifetime;
            state.UpdatedAt = now;
        });
        return CommandResult<HostRegistration>.Ok(new HostRegistration(ToInfo(), token));
    }

    public async Task<CommandResult<HostInfo>> SetLucidLinkAsync(LucidLinkVolume? lucidLink)
    {
        if (!host.State.Exists)
        {
            return CommandResult<HostInfo>.NotFound($"host {Id} not found");
        }
        await AuditedChangeAsync("host.lucidlink_changed", state =>
        {
            state.LucidLink = lucidLink;
            state.UpdatedAt = time.GetUtcNow();
        });
        await PushConfigurationAsync();
        if (lucidLink is not null)
        {
            // The periodic tick that also runs the hybrid mode's full scans.
            await EnsurePlanScheduleAsync();
        }
        return CommandResult<HostInfo>.Ok(ToInfo());
    }

    public async Task<CommandResult<HostInfo>> RevokeEnrollmentTokenAsync()
    {
        if (!host.State.Exists)
        {
            return CommandResult<HostInfo>.NotFound($"host {Id} not found");
        }
        if (host.State.EnrollmentTokenHash is null)
        {
            return CommandResult<HostInfo>.Conflict("the host has no enrollment token to revoke");
        }
        await AuditedChangeAsync("host.enrollment_token_revoked", state =>
        {
            state.EnrollmentTokenHash = null;
            state.EnrollmentExpiresAt = null;
            state.UpdatedAt = time.GetUtcNow();
        });
        return CommandResult<HostInfo>.Ok(ToInfo());
    }

    public async Task<CommandResult<HostInfo>> RevokeCredentialAsync()
    {
        if (!host.State.Exists)
        {
            return CommandResult<HostInfo>.NotFound($"host {Id} not found");
        }
        if (host.State.CredentialHash is null)
        {
            return CommandResult<HostInfo>.Conflict("the host has no credential to revoke (it is not enrolled)");
        }
        await AuditedChangeAsync("host.credential_revoked", state =>
        {
            state.CredentialHash = null;
            state.Status = state.Status == HostStatus.Disabled ? HostStatus.Disabled : HostStatus.Registered;
            state.UpdatedAt = time.GetUtcNow();
        });
        await RevokeSessionAsync("the host credential was revoked by an admin");
        return CommandResult<HostInfo>.Ok(ToInfo());
    }

    public async Task<HostIdentity?> AuthenticateAsync(string credential)
    {
        if (!CredentialHolds(credential))
        {
            return null;
        }
        // A disabled tenant's agents are refused like its users: no session, no upload, no recall key.
        if ((await grains.GetGrain<ITenantGrain>(host.State.TenantId.ToString()).GetAsync())?.Status != TenantStatus.Active)
        {
            return null;
        }
        if (host.State.CredentialUnconfirmed)
        {
            // The agent stored its credential and uses it: enrollment is complete, the token spent.
            var before = ToInfo();
            await ChangeAsync(state =>
            {
                state.CredentialUnconfirmed = false;
                state.UsedEnrollmentTokenHash = state.EnrollmentTokenHash;
                state.EnrollmentTokenHash = null;
                state.EnrollmentExpiresAt = null;
                state.UpdatedAt = time.GetUtcNow();
            });
            await AuditAsync("host.enrolled", before, new Dictionary<string, object?> { ["agentVersion"] = host.State.AgentVersion });
        }
        return new HostIdentity(Id, host.State.TenantId);
    }

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
        // What was queued while the agent was away goes out now, oldest first; then the jobs.
        foreach (var command in host.State.PendingCommands.ToList())
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
        return SessionStanding.Current;
    }

    public async Task<CommandResult<HostInfo>> SetVolumesAsync(string[] volumes)
    {
        if (!host.State.Exists)
        {
            return CommandResult<HostInfo>.NotFound($"host {Id} not found");
        }
        await AuditedChangeAsync("host.volumes_changed", state =>
        {
            state.Volumes = volumes;
            state.UpdatedAt = time.GetUtcNow();
        });
        await PushConfigurationAsync();
        return CommandResult<HostInfo>.Ok(ToInfo());
    }

    public async Task<CommandResult<CommandReceipt>> RequestScanAsync(string[] paths, string format)
    {
        if (!host.State.Exists)
        {
            return CommandResult<CommandReceipt>.NotFound($"host {Id} not found");
        }
        if (host.State.PendingCommands.Count >= MaxPendingCommands)
        {
            return CommandResult<CommandReceipt>.Conflict($"{MaxPendingCommands} commands are already waiting for this host's agent");
        }
        // A command never reaches outside the host's volumes: the agent would act there as root.
        for (var i = 0; i < paths.Length; i++)
        {
            if (InsideVolumes(paths[i]) is not { } inside)
            {
                return CommandResult<CommandReceipt>.Invalid($"paths[{i}]", OutsideVolumes(paths[i]));
            }
            paths[i] = inside;
        }
        var command = new AgentCommand(Guid.NewGuid().ToString("N"), AgentCommandKind.Scan, paths, format, time.GetUtcNow());
        await AuditedChangeAsync("host.scan_requested", state => state.PendingCommands.Add(command),
            new Dictionary<string, object?> { ["commandId"] = command.Id, ["paths"] = paths, ["format"] = format });
        var delivered = await TryDeliverAsync(command);
        return CommandResult<CommandReceipt>.Ok(new CommandReceipt(command.Id, delivered, host.State.PendingCommands.Count));
    }

    /// <summary>Most stubs one recall request covers, and paths per command (a command is one message to the agent).</summary>
    public const int MaxRecallFiles = 100_000;
    private const int RecallPathsPerCommand = 2_000;

    public async Task<CommandResult<RecallReceipt>> RequestRecallAsync(RecallSelection selection)
    {
        if (!host.State.Exists)
        {
            return CommandResult<RecallReceipt>.NotFound($"host {Id} not found");
        }
        for (var i = 0; i < (selection.Paths?.Length ?? 0); i++)
        {
            if (InsideVolumes(selection.Paths![i]) is null)
            {
                return CommandResult<RecallReceipt>.Invalid($"paths[{i}]", OutsideVolumes(selection.Paths[i]));
            }
        }
        if (selection.Directory is { } folder && InsideVolumes(folder) is null)
        {
            return CommandResult<RecallReceipt>.Invalid("directory", OutsideVolumes(folder));
        }
        var paths = await jobs.StubsToRecallAsync(Id,
            new RecallSelectionQuery(selection.Paths, selection.Directory, selection.RuleId, Rules.HostPathFlavor.Of(host.State.Os)), MaxRecallFiles);
        var commandCount = (paths.Length + RecallPathsPerCommand - 1) / RecallPathsPerCommand;
        if (host.State.PendingCommands.Count + commandCount > MaxPendingCommands)
        {
            return CommandResult<RecallReceipt>.Conflict($"{host.State.PendingCommands.Count} commands are already waiting for this host's agent");
        }
        var now = time.GetUtcNow();
        var commands = paths.Chunk(RecallPathsPerCommand)
            .Select(chunk => new AgentCommand(Guid.NewGuid().ToString("N"), AgentCommandKind.Recall, chunk, "", now))
            .ToList();
        if (commands.Count > 0)
        {
            await ChangeAsync(state => state.PendingCommands.AddRange(commands));
        }
        await AuditAsync("host.recall_requested", ToInfo(), new Dictionary<string, object?>
        {
            ["paths"] = selection.Paths, ["directory"] = selection.Directory, ["ruleId"] = selection.RuleId, ["files"] = paths.Length,
        });
        var delivered = true;
        foreach (var command in commands)
        {
            delivered &= await TryDeliverAsync(command);
        }
        return CommandResult<RecallReceipt>.Ok(new RecallReceipt(paths.Length, commands.Count, delivered && commands.Count > 0, [.. commands.Select(c => c.Id)]));
    }

    public async Task AcknowledgeAsync(string commandId, bool succeeded, string? failure)
    {
        var command = host.State.PendingCommands.Find(command => command.Id == commandId);
        if (command is not null)
        {
            await ChangeAsync(state => state.PendingCommands.RemoveAll(command => command.Id == commandId));
        }
        if (succeeded)
        {
            return;
        }
        // A command the agent could not carry out is recorded, never dropped silently: log, audit, and for a job its last error.
        var reason = failure is { Length: > 0 } ? failure : "the agent gave no reason";
        LogCommandFailed(logger, Id, commandId, reason);
        await AuditAsync("host.command_failed", null, new Dictionary<string, object?>
        {
            ["commandId"] = commandId, ["kind"] = command?.Kind.ToString().ToLowerInvariant() ?? "job", ["error"] = reason,
        });
        if (JobMessageIds.TryParse(commandId, out var jobId)
            && await jobs.FinishAsync(Id, jobId, UnavailableRetry, "the agent could not run the job: " + reason) is { } ended)
        {
            await ReportJobEndAsync(ended, $"agent:{Id}");
        }
    }

    /// <summary>The path as the host reads it (".." resolved) when that is below one of its volumes; null otherwise.</summary>
    private string? InsideVolumes(string path)
    {
        var flavor = Rules.HostPathFlavor.Of(host.State.Os);
        return Alto.Scanning.PathFlavors.Normalize(flavor, path) is { } normalized && Alto.Scanning.PathFlavors.IsWithinAny(flavor, normalized, host.State.Volumes)
            ? normalized
            : null;
    }

    private string OutsideVolumes(string path) => host.State.Volumes.Length == 0
        ? $"{path} is not below a volume of this host (it has none registered)"
        : $"{path} is not below any of this host's volumes ({string.Join(", ", host.State.Volumes)})";

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

    /// <summary>Hands a command to the current session's gateway; false (and still queued) when there is none or it is gone.</summary>
    private async Task<bool> TryDeliverAsync(AgentCommand command)
    {
        if (_observer is null)
        {
            return false;
        }
        try
        {
            await _observer.DeliverAsync(command).WaitAsync(TimeSpan.FromSeconds(10));
            return true;
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            LogDeliveryFailed(logger, exception, command.Id, Id);
            _observer = null;
            return false;
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
        return SessionStanding.Current;
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
        _session = null;
        _observer = null;
        _livenessTimer?.Dispose();
        _livenessTimer = null;
        _dispatchTimer?.Dispose();
        _dispatchTimer = null;
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
    }

    private bool CredentialHolds(string credential) =>
        host.State.Exists && host.State.Status != HostStatus.Disabled && EnrollmentTokens.Matches(credential, host.State.CredentialHash);

    public async Task RecordScanAsync(DateTimeOffset completedAt, long fileCount, long totalBytes)
    {
        if (!host.State.Exists)
        {
            return;
        }
        await ChangeAsync(state =>
        {
            state.LastScanAt = completedAt;
            state.FileCount = fileCount;
            state.TotalBytes = totalBytes;
            state.UpdatedAt = time.GetUtcNow();
        });
        await ReconcileRecalledStubsAsync();
        await EnsurePlanScheduleAsync();
        PlanInBackground("scan completed");
    }

    /// <summary>
    /// What the disk says wins: a stub the scan found holding its data again was recalled, even if
    /// the report of it was lost; its tier object goes RECALLED (audited with why) before the plan.
    /// </summary>
    private async Task ReconcileRecalledStubsAsync()
    {
        var found = await jobs.StubsFoundRecalledAsync(Id);
        var recalled = new Tiers.TierEvent(Tiers.TierEventKind.Recalled, $"host:{Id}",
            Reason: "a scan found the file's data back on disk (its recall was not reported)");
        await ledger.ApplyAsync(Id, [.. found.Select(id => new Tiers.TierChange(id, recalled))], CancellationToken.None);
        if (found.Length > 0)
        {
            LogReconciled(logger, Id, found.Length);
        }
    }

    /// <summary>Applies a change to a copy of the state, then persists it (see <see cref="PersistAsync"/>).</summary>
    /// <summary>An admin change: stored like any other, then audited with the host's view before and after.</summary>
    private async Task AuditedChangeAsync(string action, Action<HostState> change, IReadOnlyDictionary<string, object?>? extra = null)
    {
        var before = ToInfo();
        await ChangeAsync(change);
        await AuditAsync(action, before, extra);
    }

    private Task AuditAsync(string action, HostInfo? before, IReadOnlyDictionary<string, object?>? extra = null) =>
        audit.RecordAsync(host.State.TenantId, action, "host", Id.ToString(), before, ToInfo(), extra, hostId: Id);

    private Task ChangeAsync(Action<HostState> change)
    {
        var before = host.State;
        host.State = Copy(before);
        change(host.State);
        return PersistAsync(before);
    }

    /// <summary>Writes the changed state, then its row; a failed state write restores the state held before.</summary>
    private async Task PersistAsync(HostState before)
    {
        try
        {
            await host.WriteStateAsync();
        }
        catch
        {
            host.State = before;
            throw;
        }
        await rows.UpsertAsync(Id, host.State);
    }

    private static HostState Copy(HostState state) => new()
    {
        Exists = state.Exists,
        TenantId = state.TenantId,
        Name = state.Name,
        Os = state.Os,
        Volumes = state.Volumes,
        Status = state.Status,
        EnrollmentTokenHash = state.EnrollmentTokenHash,
        EnrollmentExpiresAt = state.EnrollmentExpiresAt,
        CredentialHash = state.CredentialHash,
        CreatedAt = state.CreatedAt,
        UpdatedAt = state.UpdatedAt,
        UsedEnrollmentTokenHash = state.UsedEnrollmentTokenHash,
        EnrolledAt = state.EnrolledAt,
        AgentVersion = state.AgentVersion,
        LastScanAt = state.LastScanAt,
        FileCount = state.FileCount,
        TotalBytes = state.TotalBytes,
        PendingCommands = [.. state.PendingCommands],
        BandwidthLimitBytesPerSecond = state.BandwidthLimitBytesPerSecond,
        TransferWindows = state.TransferWindows,
        TimeZone = state.TimeZone,
        LucidLink = state.LucidLink,
        CredentialUnconfirmed = state.CredentialUnconfirmed,
    };

    private HostInfo ToInfo() => ToInfo(host.State);

    private HostInfo ToInfo(HostState state) => new(
        Id, state.TenantId, state.Name, state.Os, state.Volumes, state.Status,
        state.EnrollmentExpiresAt, state.CreatedAt, state.UpdatedAt)
    {
        LastScanAt = state.LastScanAt,
        FileCount = state.FileCount,
        TotalBytes = state.TotalBytes,
        LastHeartbeatAt = _lastHeartbeat,
        AgentVersion = state.AgentVersion,
        LatestMetrics = _metrics,
        Gateway = _session?.Gateway,
        PendingCommands = state.PendingCommands.Count,
        BandwidthLimitBytesPerSecond = state.BandwidthLimitBytesPerSecond,
        LastPlannedAt = _lastPlannedAt,
        TransferWindows = state.TransferWindows,
        TimeZone = state.TimeZone,
        LucidLink = state.LucidLink,
        CredentialUnconfirmed = state.CredentialUnconfirmed,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId}: the scan found {Count} stub(s) recalled whose recall was never reported; their tier objects are RECALLED now")]
    private static partial void LogReconciled(ILogger logger, Guid hostId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId}: the agent could not carry out command {CommandId}: {Reason}")]
    private static partial void LogCommandFailed(ILogger logger, Guid hostId, string commandId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Command {CommandId} for host {HostId} stays queued: its session's gateway did not take it")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception exception, string commandId, Guid hostId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Host {HostId} is offline: no heartbeat since {LastHeartbeat}")]
    private static partial void LogHeartbeatsMissed(ILogger logger, Guid hostId, DateTimeOffset lastHeartbeat);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not re-sync the read model of host {HostId}")]
    private static partial void LogResyncFailed(ILogger logger, Exception exception, Guid hostId);
}
