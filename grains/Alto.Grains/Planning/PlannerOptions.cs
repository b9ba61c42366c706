using System.ComponentModel.DataAnnotations;

namespace Alto.Grains.Planning;

/// <summary>When hosts are planned besides after each scan (configuration section Alto:Planner).</summary>
public sealed class PlannerOptions
{
    public const string Section = "Alto:Planner";

    /// <summary>How often every host with an inventory is planned again, so age-based rules catch files that grew old.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "31.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(24);
}
