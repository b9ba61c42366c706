namespace Alto.Grains.Trail;

/// <summary>What applying a batch of trail updates did: updates that changed the inventory, paths it does not know, reads older than what it had, tier objects warmed.</summary>
public sealed record TrailUpdateOutcome(int Applied, int Unknown, int Stale, int Warmed, bool AlreadyApplied);
