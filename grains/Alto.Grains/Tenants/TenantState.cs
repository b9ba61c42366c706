using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tenants;

namespace Alto.Grains.Tenants;

/// <summary>Persisted state of a tenant grain. Ids are explicit so reordering can never corrupt stored state.</summary>
[GenerateSerializer, Alias("Alto.TenantState")]
public sealed class TenantState : Persistence.IHoldsAudit
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public string Name { get; set; } = "";
    [Id(2)] public string Description { get; set; } = "";
    [Id(3)] public TenantStatus Status { get; set; }
    [Id(4)] public DateTimeOffset CreatedAt { get; set; }
    [Id(5)] public DateTimeOffset UpdatedAt { get; set; }
    [Id(6)] public Dictionary<Guid, StorageTargetState> Targets { get; set; } = [];
    [Id(7)] public Dictionary<Guid, RuleInfo> Rules { get; set; } = [];
    [Id(8)] public bool EncryptTier2 { get; set; }
    [Id(9)] public int? RecallAfterReads { get; set; } = DefaultRecallAfterReads;

    /// <summary>Whether planned jobs wait for approval; null in state written before the setting existed, which keeps working as it did (auto).</summary>
    [Id(10)] public PlanApproval? PlanApproval { get; set; }

    /// <summary>Smallest file the planner selects; null in state written before the setting existed (no minimum).</summary>
    [Id(11)] public long? MinTierableBytes { get; set; }

    /// <summary>Days an orphaned tier-2 object is kept; null in state written before the setting existed (the default).</summary>
    [Id(12)] public int? OrphanGraceDays { get; set; }

    [Id(13)] public bool ReclaimOrphans { get; set; }

    /// <summary>The tenant's prices for savings and what-if figures; null until an admin sets them.</summary>
    [Id(14)] public CostModel? Costs { get; set; }

    /// <summary>Audit entries of stored changes not yet known to be in the audit log (see TenantGrain.Sync).</summary>
    [Id(15)] public List<Audit.UnrecordedAudit> UnrecordedAudit { get; set; } = [];

    /// <summary>Three reads through the audit trail make a stub hot enough to bring back.</summary>
    public const int DefaultRecallAfterReads = 3;

    public PlanApproval EffectivePlanApproval => PlanApproval ?? GrainInterfaces.Tenants.PlanApproval.Auto;

    public long EffectiveMinTierableBytes => MinTierableBytes ?? 0;

    public int EffectiveOrphanGraceDays => OrphanGraceDays ?? TenantDefaults.OrphanGraceDays;
}

[GenerateSerializer, Alias("Alto.StorageTargetState")]
public sealed class StorageTargetState
{
    [Id(0)] public Guid Id { get; set; }
    [Id(1)] public string Name { get; set; } = "";
    [Id(2)] public StorageTargetKind Kind { get; set; }
    [Id(3)] public StorageTargetSettings Settings { get; set; } = new(null, null, null, null, null, null, null, false);
    /// <summary>Only in state written before credentials were sealed; the grain seals and clears it on activation.</summary>
    [Id(4)] public StorageTargetCredentials? Credentials { get; set; }
    [Id(5)] public bool Enabled { get; set; } = true;
    [Id(6)] public DateTimeOffset CreatedAt { get; set; }
    [Id(7)] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The credentials as JSON encrypted with the tenant key (<see cref="Keys.IKeyService"/>); never stored in the clear.</summary>
    [Id(8)] public string? SealedCredentials { get; set; }

    public bool HasCredentials => SealedCredentials is not null || Credentials is not null;
}
