using System.ComponentModel.DataAnnotations;

namespace Alto.Grains.Tiers;

/// <summary>How often a file whose tiering failed is tried again, and how soon; how long one the agent refused waits.</summary>
public sealed class TierRetryOptions
{
    public const string Section = "Alto:Tiering:Retry";

    /// <summary>Attempts in all; after the last failed one the file is ABANDONED (an error, an audit entry, a metric).</summary>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = TierStateMachine.DefaultMaxAttempts;

    /// <summary>The wait after the first failure; it doubles after each further one.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Base { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a file the agent refused (immutable, append-only, on a read-only mount, not a
    /// regular file, inside its target's folder) stays SKIPPED before it is planned again: a
    /// compliance folder of a million immutable files would otherwise be sent, refused and audited
    /// in full by every plan.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan RefusedPause { get; set; } = TierStateMachine.DefaultRefusedPause;
}
