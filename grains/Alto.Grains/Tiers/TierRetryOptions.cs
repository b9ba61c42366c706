using System.ComponentModel.DataAnnotations;

namespace Alto.Grains.Tiers;

/// <summary>How often a file whose tiering failed is tried again, and how soon.</summary>
public sealed class TierRetryOptions
{
    public const string Section = "Alto:Tiering:Retry";

    /// <summary>Attempts in all; after the last failed one the file is ABANDONED (an error, an audit entry, a metric).</summary>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = TierStateMachine.DefaultMaxAttempts;

    /// <summary>The wait after the first failure; it doubles after each further one.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Base { get; set; } = TimeSpan.FromMinutes(1);
}
