namespace Alto.GrainInterfaces.Hosts;

/// <summary>What applying a batch of audit-trail updates did: updates that changed the inventory, paths it does not know, reads older than what it had, tier objects warmed.</summary>
[GenerateSerializer, Immutable, Alias("Alto.AuditUpdateOutcome")]
public sealed record AuditUpdateOutcome(
    [property: Id(0)] int Applied,
    [property: Id(1)] int Unknown,
    [property: Id(2)] int Stale,
    [property: Id(3)] int Warmed,
    [property: Id(4)] bool AlreadyApplied);
