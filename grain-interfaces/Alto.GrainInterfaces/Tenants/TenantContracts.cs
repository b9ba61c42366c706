namespace Alto.GrainInterfaces.Tenants;

public enum TenantStatus
{
    Active = 0,
    Disabled = 1,
}

/// <summary>Whether a tenant's planned jobs go to the agents at once or wait for a tenant admin's approval.</summary>
public enum PlanApproval
{
    Auto = 0,
    Manual = 1,
}

/// <summary>The safe defaults a new tenant starts with: nothing moves before an admin approves it, and small files stay.</summary>
public static class TenantDefaults
{
    public const PlanApproval NewTenantPlanApproval = PlanApproval.Manual;

    /// <summary>64 KiB, as Azure File Sync: below this a stub saves too little to be worth a recall.</summary>
    public const long MinTierableBytes = 64 * 1024;

    /// <summary>An unreferenced tier-2 object younger than this many days may be an upload whose record is on its way: it is never deleted.</summary>
    public const int OrphanGraceDays = 30;

    public const int MaxOrphanGraceDays = 3650;
}

[GenerateSerializer, Immutable, Alias("Alto.TenantInfo")]
public sealed record TenantInfo(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Description,
    [property: Id(3)] TenantStatus Status,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DateTimeOffset UpdatedAt)
{
    /// <summary>Tier-2 objects are encrypted on the agent, each under a data key of its own wrapped by the tenant key.</summary>
    [Id(6)] public bool EncryptTier2 { get; init; }

    /// <summary>A stub read this many times in audit trails (LucidLink) is recalled; null: never by reads alone.</summary>
    [Id(7)] public int? RecallAfterReads { get; init; }

    /// <summary>Manual: planned jobs wait for a tenant admin's approval; auto: they go to the agents as soon as they are planned.</summary>
    [Id(8)] public PlanApproval PlanApproval { get; init; }

    /// <summary>Files smaller than this are never planned.</summary>
    [Id(9)] public long MinTierableBytes { get; init; }

    /// <summary>How many days an object no record references is kept before a reconciliation run may reclaim it.</summary>
    [Id(10)] public int OrphanGraceDays { get; init; } = TenantDefaults.OrphanGraceDays;

    /// <summary>Whether reconciliation runs delete orphans past the grace period (off: they are only reported).</summary>
    [Id(11)] public bool ReclaimOrphans { get; init; }
}

[GenerateSerializer, Immutable, Alias("Alto.CreateTenant")]
public sealed record CreateTenant(
    [property: Id(0)] string Name,
    [property: Id(1)] string Description);

/// <summary>A partial update: null members are left as they are.</summary>
[GenerateSerializer, Immutable, Alias("Alto.UpdateTenant")]
public sealed record UpdateTenant(
    [property: Id(0)] string? Name,
    [property: Id(1)] string? Description)
{
    /// <summary>Turns encryption of new tier-2 objects on or off (objects already stored stay as they are).</summary>
    [Id(2)] public bool? EncryptTier2 { get; init; }

    /// <summary>Sets the recall threshold (see <see cref="TenantInfo.RecallAfterReads"/>); 0 turns it off.</summary>
    [Id(3)] public int? RecallAfterReads { get; init; }

    [Id(4)] public PlanApproval? PlanApproval { get; init; }

    [Id(5)] public long? MinTierableBytes { get; init; }

    [Id(6)] public int? OrphanGraceDays { get; init; }

    [Id(7)] public bool? ReclaimOrphans { get; init; }
}

/// <summary>The outcome of a key rotation: the tenant key's new version and how many targets' credentials were sealed under it.</summary>
[GenerateSerializer, Immutable, Alias("Alto.TenantKeyInfo")]
public sealed record TenantKeyInfo(
    [property: Id(0)] Guid TenantId,
    [property: Id(1)] int KeyVersion,
    [property: Id(2)] int ResealedTargets);
