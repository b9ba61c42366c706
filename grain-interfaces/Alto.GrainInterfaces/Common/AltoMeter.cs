using System.Diagnostics.Metrics;

namespace Alto.GrainInterfaces.Common;

/// <summary>The meter every Alto process records its own figures on (exported as alto_* on /metrics).</summary>
public static class AltoMeter
{
    public const string Name = "Alto";

    /// <summary>The label every alto_* series carries so operators can alert and chart per tenant (its id: names change).</summary>
    public static KeyValuePair<string, object?> Tenant(Guid tenantId) => new("tenant", tenantId.ToString());

    /// <summary>
    /// Bucket bounds for durations in seconds, from 5 ms to 10 minutes. Without them a histogram
    /// gets the SDK's default bounds (0 to 10,000, sized for milliseconds), and a quantile over a
    /// seconds histogram reads seconds where milliseconds were meant.
    /// </summary>
    public static readonly IReadOnlyList<double> SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    /// <summary>
    /// A counter of failures that reads 0 from the first scrape. A series that first appears at 1
    /// has no increase for Prometheus to see, so an alert on increase() would miss the very first
    /// failure; and a dashboard's panel shows a flat 0 rather than "no data".
    /// </summary>
    public static Counter<long> CreateFailureCounter(this Meter meter, string name, string unit, string description)
    {
        var counter = meter.CreateCounter<long>(name, unit, description);
        counter.Add(0);
        return counter;
    }
}
