using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Tenants;
using Alto.Audit;
using Alto.Keys;
using Alto.Grains.Persistence;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Tenants;

/// <summary>
/// One tenant. Its persisted state is the truth; the alto.tenant and alto.storage_target rows are
/// its read model, written by this grain only and re-synced on every activation.
/// </summary>
public sealed partial class TenantGrain(
    [PersistentState(StorageNames.TenantState, StorageNames.Grains)] IPersistentState<TenantState> tenant,
    TenantRows rows,
    RuleRows ruleRows,
    AdminAudit audit,
    IKeyService keys,
    TimeProvider time,
    FollowUpMetrics followUpMetrics,
    ILogger<TenantGrain> logger) : Grain, ITenantGrain
{
    private Guid Id => Guid.Parse(this.GetPrimaryKeyString());

    public Task<TenantInfo?> GetAsync() => Task.FromResult(tenant.State.Exists ? ToInfo() : null);

    public async Task<CommandResult<TenantInfo>> CreateAsync(CreateTenant command)
    {
        if (tenant.State.Exists)
        {
            return CommandResult<TenantInfo>.Conflict($"tenant {Id} already exists");
        }

        var now = time.GetUtcNow();
        var created = new TenantState
        {
            Exists = true,
            Name = command.Name,
            Description = command.Description,
            Status = TenantStatus.Active,
            CreatedAt = now,
            UpdatedAt = now,
            PlanApproval = TenantDefaults.NewTenantPlanApproval,
            MinTierableBytes = TenantDefaults.MinTierableBytes,
        };
        created.UnrecordedAudit = [AdminAudit.Prepare(Id, "tenant.created", "tenant", Id.ToString(), null, ToInfo(created), now)];

        // The row's unique index is what makes tenant names unique across grains.
        var claimed = await ClaimedWrite.CreateAsync(
            tenant, created, () => rows.InsertTenantAsync(Id, created), () => rows.DeleteOrphanTenantAsync(Id), () => new TenantState());
        if (!claimed)
        {
            return CommandResult<TenantInfo>.Conflict($"a tenant named '{command.Name}' already exists");
        }
        await FollowUpAsync(() => Task.CompletedTask);
        await CreateKeyOrLeaveItToFirstUseAsync();
        return CommandResult<TenantInfo>.Ok(ToInfo());
    }

    /// <summary>
    /// The tenant's key, made now so its first use need not wait for it. The tenant is made whether
    /// or not this succeeds: every use of the key makes it when it is missing, so a key service or
    /// database out of reach now is logged, and the call still says what is true — the tenant exists.
    /// </summary>
    private async Task CreateKeyOrLeaveItToFirstUseAsync()
    {
        try
        {
            await keys.CreateKeyAsync(Id, CancellationToken.None);
        }
        catch (Exception exception) when (exception is KeyServiceException || DatabaseOutage.Is(exception))
        {
            LogKeyLeftToFirstUse(logger, exception, Id);
        }
    }

    public async Task<CommandResult<TenantInfo>> UpdateAsync(UpdateTenant command, string[]? ifMatch = null)
    {
        if (!tenant.State.Exists)
        {
            return CommandResult<TenantInfo>.NotFound($"tenant {Id} not found");
        }
        if (Revision.Stale(ToInfo(), ifMatch, $"tenant '{tenant.State.Name}'") is { } stale)
        {
            return CommandResult<TenantInfo>.Stale(stale);
        }

        var name = command.Name ?? tenant.State.Name;
        var description = command.Description ?? tenant.State.Description;
        var encrypt = command.EncryptTier2 ?? tenant.State.EncryptTier2;
        var recallAfterReads = command.RecallAfterReads switch
        {
            null => tenant.State.RecallAfterReads,
            0 => null,
            var reads => reads,
        };
        var approval = command.PlanApproval ?? tenant.State.EffectivePlanApproval;
        var minimum = command.MinTierableBytes ?? tenant.State.EffectiveMinTierableBytes;
        var orphanGrace = command.OrphanGraceDays ?? tenant.State.EffectiveOrphanGraceDays;
        var reclaim = command.ReclaimOrphans ?? tenant.State.ReclaimOrphans;
        if (name == tenant.State.Name && description == tenant.State.Description && encrypt == tenant.State.EncryptTier2
            && recallAfterReads == tenant.State.RecallAfterReads && approval == tenant.State.EffectivePlanApproval
            && minimum == tenant.State.EffectiveMinTierableBytes && orphanGrace == tenant.State.EffectiveOrphanGraceDays && reclaim == tenant.State.ReclaimOrphans)
        {
            return CommandResult<TenantInfo>.Ok(ToInfo());
        }
        return await ChangeTenantAsync("tenant.updated", state =>
        {
            state.Name = name;
            state.Description = description;
            state.EncryptTier2 = encrypt;
            state.RecallAfterReads = recallAfterReads;
            state.PlanApproval = approval;
            state.MinTierableBytes = minimum;
            state.OrphanGraceDays = orphanGrace;
            state.ReclaimOrphans = reclaim;
        });
    }

    public async Task<CommandResult<TenantInfo>> SetStatusAsync(TenantStatus status)
    {
        if (!tenant.State.Exists)
        {
            return CommandResult<TenantInfo>.NotFound($"tenant {Id} not found");
        }
        if (tenant.State.Status == status)
        {
            return CommandResult<TenantInfo>.Ok(ToInfo());
        }
        return await ChangeTenantAsync(status == TenantStatus.Disabled ? "tenant.disabled" : "tenant.enabled", state => state.Status = status);
    }

    /// <summary>
    /// Applies a change to the tenant row first (a rename may collide with another tenant's name),
    /// then to the persisted state; a failed state write puts the row back.
    /// </summary>
    private async Task<CommandResult<TenantInfo>> ChangeTenantAsync(string auditAction, Action<TenantState> change)
    {
        var before = tenant.State;
        var beforeInfo = ToInfo();
        var after = new TenantState
        {
            Exists = true,
            Name = before.Name,
            Description = before.Description,
            Status = before.Status,
            CreatedAt = before.CreatedAt,
            UpdatedAt = time.GetUtcNow(),
            Targets = before.Targets,
            Rules = before.Rules,
            EncryptTier2 = before.EncryptTier2,
            RecallAfterReads = before.RecallAfterReads,
            PlanApproval = before.PlanApproval,
            MinTierableBytes = before.MinTierableBytes,
            OrphanGraceDays = before.OrphanGraceDays,
            ReclaimOrphans = before.ReclaimOrphans,
            Costs = before.Costs,
            UnrecordedAudit = before.UnrecordedAudit,
        };
        change(after);

        try
        {
            await rows.UpsertTenantAsync(Id, after);
        }
        catch (PostgresException exception) when (exception.IsUniqueViolation())
        {
            return CommandResult<TenantInfo>.Conflict($"a tenant named '{after.Name}' already exists");
        }

        tenant.State = after;
        try
        {
            await StoreAsync(AuditOf(auditAction, "tenant", Id.ToString(), beforeInfo, ToInfo()), () => tenant.State = before);
        }
        catch
        {
            await rows.UpsertTenantAsync(Id, before);
            throw;
        }
        await FollowUpAsync(() => Task.CompletedTask);
        return CommandResult<TenantInfo>.Ok(ToInfo());
    }

    public async Task<GrainInterfaces.Tiers.DataKeyGrant[]?> IssueDataKeysAsync(int count)
    {
        if (!tenant.State.EncryptTier2)
        {
            return null;
        }
        var grants = new GrainInterfaces.Tiers.DataKeyGrant[count];
        for (var i = 0; i < count; i++)
        {
            var key = await keys.GenerateDataKeyAsync(Id, CancellationToken.None);
            grants[i] = new GrainInterfaces.Tiers.DataKeyGrant(key.Plaintext, key.Wrapped);
        }
        return grants;
    }

    public async Task<CommandResult<byte[]>> UnwrapDataKeyAsync(string wrapped)
    {
        try
        {
            var key = await keys.DecryptAsync(Id, wrapped, CancellationToken.None);
            return key.Length == 32 ? CommandResult<byte[]>.Ok(key) : CommandResult<byte[]>.Invalid("wrapped", "that is not a wrapped data key");
        }
        catch (KeyServiceException exception)
        {
            return CommandResult<byte[]>.Invalid("wrapped", $"the key does not unwrap with this tenant's key: {exception.Message}");
        }
    }

    /// <summary>Rotates the tenant key and seals every target's credentials again under the new version.</summary>
    public async Task<CommandResult<TenantKeyInfo>> RotateKeyAsync()
    {
        if (!tenant.State.Exists)
        {
            return CommandResult<TenantKeyInfo>.NotFound($"tenant {Id} not found");
        }
        var version = await keys.RotateKeyAsync(Id, CancellationToken.None);
        var resealed = 0;
        foreach (var target in tenant.State.Targets.Values.Where(target => target.HasCredentials))
        {
            var credentials = await UnsealAsync(target);
            target.SealedCredentials = credentials is null ? null : await SealAsync(credentials);
            target.Credentials = null;
            resealed++;
        }
        var info = new TenantKeyInfo(Id, version, resealed);
        // Resealed in place: should the write fail, what is held is sealed under the new version all the same.
        await StoreAsync(AuditOf("tenant.key_rotated", "tenant", Id.ToString(), null, info), undo: () => { });
        await FollowUpAsync(() => Task.CompletedTask);
        return CommandResult<TenantKeyInfo>.Ok(info);
    }

    private async Task<string> SealAsync(StorageTargetCredentials credentials) =>
        await keys.EncryptAsync(Id, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(credentials), CancellationToken.None);

    private async Task<StorageTargetCredentials?> UnsealAsync(StorageTargetState target) =>
        target.SealedCredentials is { } sealedCredentials
            ? System.Text.Json.JsonSerializer.Deserialize<StorageTargetCredentials>(await keys.DecryptAsync(Id, sealedCredentials, CancellationToken.None))
            : target.Credentials;

    /// <summary>State written before credentials were sealed holds them in the clear: sealed and cleared here, once.</summary>
    private async Task SealLegacyCredentialsAsync()
    {
        var legacy = tenant.State.Targets.Values.Where(target => target.Credentials is not null).ToList();
        if (legacy.Count == 0)
        {
            return;
        }
        foreach (var target in legacy)
        {
            target.SealedCredentials = await SealAsync(target.Credentials!);
            target.Credentials = null;
        }
        await tenant.WriteStateAsync();
    }

    private CommandResult<T>? TenantRefusal<T>()
    {
        if (!tenant.State.Exists)
        {
            return CommandResult<T>.NotFound($"tenant {Id} not found");
        }
        if (tenant.State.Status == TenantStatus.Disabled)
        {
            return CommandResult<T>.Conflict($"tenant {Id} is disabled");
        }
        return null;
    }

    private bool IsTargetNameTaken(string name, Guid? exceptId) =>
        tenant.State.Targets.Values.Any(t => t.Id != exceptId && string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));

    private TenantInfo ToInfo() => ToInfo(tenant.State);

    private TenantInfo ToInfo(TenantState state) =>
        new(Id, state.Name, state.Description, state.Status, state.CreatedAt, state.UpdatedAt)
        {
            EncryptTier2 = state.EncryptTier2,
            RecallAfterReads = state.RecallAfterReads,
            PlanApproval = state.EffectivePlanApproval,
            MinTierableBytes = state.EffectiveMinTierableBytes,
            OrphanGraceDays = state.EffectiveOrphanGraceDays,
            ReclaimOrphans = state.ReclaimOrphans,
        };

    private StorageTargetInfo ToInfo(StorageTargetState target) =>
        new(target.Id, Id, target.Name, target.Kind, target.Settings, target.HasCredentials, target.Enabled,
            target.CreatedAt, target.UpdatedAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The tenant {TenantId} was created without its key, which its first use will make")]
    private static partial void LogKeyLeftToFirstUse(ILogger logger, Exception exception, Guid tenantId);
}
