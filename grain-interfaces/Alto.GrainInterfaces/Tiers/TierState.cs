namespace Alto.GrainInterfaces.Tiers;

/// <summary>
/// The life of one file in tiering. Stored by name in alto.tier_object.state, so members are
/// never renamed. Legal moves are defined by TierStateMachine in the grains project.
/// </summary>
public enum TierState
{
    Planned = 0,
    Dispatched = 1,
    Uploading = 2,
    /// <summary>Tier-2 holds a copy whose SHA-256 was verified by reading it back.</summary>
    Uploaded = 3,
    Stubbed = 4,
    Recalling = 5,
    /// <summary>Data is back on tier 1 (warm); planned again only when rules select it anew.</summary>
    Recalled = 6,
    Failed = 7,
    Abandoned = 8,
    /// <summary>Locked or changed since planning; waits for the next scan.</summary>
    Skipped = 9,
    /// <summary>Stubbed, but a reconciliation found its tier-2 object gone or damaged: the stub cannot be recalled.</summary>
    Lost = 10,
}
