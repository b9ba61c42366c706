using System.ComponentModel.DataAnnotations;

namespace Alto.Grains.Planning;

/// <summary>When hosts are planned besides after each scan (configuration section Alto:Planner).</summary>
public sealed class PlannerOptions
{
    public const string Section = "Alto:Planner";

    /// <summary>How often every host with an inventory is planned again, so age-based rules catch files that grew old.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "31.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Plans (and previews) one silo runs at once; more wait for a free slot. A plan holds two
    /// database connections and evaluates on the silo's processors: without a bound, a hundred
    /// hosts planned together open two hundred connections at once (the database allows a few
    /// hundred in all), and in the scale bench a tenant's plan among them answered 500.
    /// </summary>
    [Range(1, 64)]
    public int MaxConcurrentPlans { get; set; } = 4;
}
