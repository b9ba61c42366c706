using System.ComponentModel.DataAnnotations;

namespace Alto.Grains.Hosts;

/// <summary>How jobs go to agents (configuration section Alto:Dispatch).</summary>
public sealed class DispatchOptions
{
    public const string Section = "Alto:Dispatch";

    /// <summary>How long an agent has to finish a job before it is sent again (the agent reports a file it already made a stub as stubbed, without uploading it again).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a job waits before it is sent again when tier 2 could not be reached (or its target was gone, or the agent could not run it).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan UnavailableRetry { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often a live session is checked for jobs whose lease ran out: every 30 s, or half a short lease.</summary>
    public TimeSpan CheckEvery => Lease / 2 < TimeSpan.FromSeconds(30) ? Lease / 2 : TimeSpan.FromSeconds(30);
}
