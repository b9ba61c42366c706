using Alto.GrainInterfaces.Tiers;

namespace Alto.Grains.Tiers;

/// <summary>Which half of the life cycle a failure interrupted; decides where a retry resumes.</summary>
public enum TierPhase
{
    Tiering = 0,
    Recall = 1,
}

/// <summary>The state-machine part of one tier object, as stored in alto.tier_object.</summary>
[GenerateSerializer, Immutable, Alias("Alto.TierObjectSnapshot")]
public sealed record TierObjectSnapshot(
    [property: Id(0)] TierState State,
    [property: Id(1)] int Attempts,
    [property: Id(2)] string? LastError,
    [property: Id(3)] TierPhase FailedDuring,
    [property: Id(4)] DateTimeOffset? NextAttemptAt,
    [property: Id(5)] DateTimeOffset? PlannedAt,
    [property: Id(6)] DateTimeOffset? ActedAt,
    [property: Id(7)] string? Hash,
    [property: Id(8)] string? Locator,
    [property: Id(9)] DateTimeOffset? LastAccessedAt,
    [property: Id(10)] long AccessCount)
{
    public static TierObjectSnapshot NewlyPlanned(DateTimeOffset now) =>
        new(TierState.Planned, 0, null, TierPhase.Tiering, null, now, null, null, null, null, 0);
}

/// <summary>
/// What a caller supplies with a transition; only some transitions read each member.
/// <see cref="Refused"/>: a move to SKIPPED because the agent refused the file; <see cref="Hold"/>:
/// one that keeps the file from planning for that long (a declined job's).
/// </summary>
public sealed record TierTransitionDetails(string? Hash = null, string? Locator = null, string? Error = null, bool Refused = false, TimeSpan? Hold = null);
