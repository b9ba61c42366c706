using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tenants;
using Alto.Keys;
using Alto.Audit;
using Alto.Grains.Persistence;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Hosts;

/// <summary>
/// One file server: its registration, enrollment and settings (this file), the agent's live
/// session, commands for the agent, dispatch of its tiering jobs and their results, and the
/// schedule that has its inventory planned (the partials beside this one). Its inventory work —
/// planning and the LucidLink trail — is the <see cref="HostInventoryGrain"/>'s, so a long plan
/// never holds the session up. alto.host is its read model, written only here.
/// </summary>
public sealed partial class HostGrain(
    [PersistentState(StorageNames.HostState, StorageNames.Grains)] IPersistentState<HostState> host,
    HostRows rows,
    JobRows jobs,
    CommandRows commandRows,
    HostTierObjects tierObjects,
    AdminAudit audit,
    TieringMetrics tieringMetrics,
    Tiers.TierObjectLedger ledger,
    Live.LivePublisher live,
    IOptions<Planning.PlannerOptions> plannerOptions,
    IOptions<DispatchOptions> dispatchOptions,
    IOptions<Tiers.TierRetryOptions> retryOptions,
    IGrainFactory grains,
    TimeProvider time,
    FollowUpMetrics followUpMetrics,
    ILogger<HostGrain> logger) : Grain, IHostGrain, IRemindable
{
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
        await FollowUps.ResyncAsync();
        try
        {
            if (host.State.Exists)
            {
                await MoveQueuedCommandsToRowsAsync();
                (_pendingCommands, _scanWaiting) = await commandRows.CountAsync(Id);
            }
        }
        catch (NpgsqlException exception)
        {
            LogResyncFailed(logger, exception, Id);
        }
    }

    /// <summary>Commands queued in the grain's state by an earlier version go to their rows once (a repeat inserts nothing).</summary>
    private async Task MoveQueuedCommandsToRowsAsync()
    {
        if (host.State.PendingCommands.Count > 0)
        {
            await commandRows.AddAsync(Id, host.State.PendingCommands);
            await ChangeAsync(state => state.PendingCommands.Clear());
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
        HoldAudit(registered, "host.registered", null);

        // The row's unique index keeps host names unique within a tenant.
        var claimed = await ClaimedWrite.CreateAsync(
            host, registered, () => rows.InsertAsync(Id, registered), () => rows.DeleteOrphanAsync(Id), () => new HostState());
        if (!claimed)
        {
            return CommandResult<HostRegistration>.Conflict($"a host named '{command.Name}' already exists in this tenant");
        }
        await FollowUps.RunAsync(() => Task.CompletedTask);
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
        HoldAudit(host.State, "host.credential_issued", ToInfo(before), new Dictionary<string, object?>
        {
            ["agentVersion"] = command.AgentVersion, ["machineName"] = command.MachineName, ["reissued"] = again,
        });
        await PersistAsync(before);
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
            await AuditedChangeAsync("host.enrolled", state =>
            {
                state.CredentialUnconfirmed = false;
                state.UsedEnrollmentTokenHash = state.EnrollmentTokenHash;
                state.EnrollmentTokenHash = null;
                state.EnrollmentExpiresAt = null;
                state.UpdatedAt = time.GetUtcNow();
            }, new Dictionary<string, object?> { ["agentVersion"] = host.State.AgentVersion });
        }
        return new HostIdentity(Id, host.State.TenantId);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not re-sync the read model of host {HostId}")]
    private static partial void LogResyncFailed(ILogger logger, Exception exception, Guid hostId);
}
