using System.ComponentModel.DataAnnotations;

namespace Alto.Grains.Trail;

/// <summary>How a host's staged audit-trail batches are applied (configuration section Alto:Trail).</summary>
public sealed class TrailOptions
{
    public const string Section = "Alto:Trail";

    /// <summary>
    /// Batches of reads only that one host applies side by side (each its own transaction). Reads
    /// commute — the newest time wins and the counts add up — so a backlog of them uses more of the
    /// database's cores; a batch with writes, deletes or moves is always applied alone, in its
    /// place. Measured on 1 M files, ten batches of 10,000 reads: 1.8 s one at a time, 0.95-1.3 s
    /// two at a time on two cores.
    /// </summary>
    [Range(1, 16)]
    public int ReadBatchesAtOnce { get; set; } = 2;

    /// <summary>
    /// Batches one silo applies at once, whatever their hosts; more wait for a free slot. Without a
    /// bound a hundred hosts' trails started together ran a hundred statements on the database's
    /// two cores, each so slow that 39 of them outlived the command timeout (scale bench, 10 M files).
    /// </summary>
    [Range(1, 64)]
    public int MaxConcurrentBatches { get; set; } = 4;

    /// <summary>
    /// Wait before a host whose trail work failed (the database out of reach, a statement cancelled)
    /// tries again by itself; it doubles after each further failure, up to <see cref="LongestRetryWait"/>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between a host's attempts while its trail work keeps failing.</summary>
    public static readonly TimeSpan LongestRetryWait = TimeSpan.FromMinutes(1);

    /// <summary>The wait before the host's next attempt after <paramref name="failures"/> failures in a row (one or more).</summary>
    public TimeSpan RetryWait(int failures) =>
        TimeSpan.FromTicks(Math.Min(LongestRetryWait.Ticks, RetryAfter.Ticks << Math.Clamp(failures - 1, 0, 20)));
}
