using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Alto.Grains;

/// <summary>
/// Counts the calls every grain receives and times them, by grain interface (alto.grain.calls and
/// alto.grain.call.duration, meter "Alto"): what a job, a scan or a report costs in grain traffic,
/// and how long callers wait, for operators and for bench/run.sh job-cost and scale.
/// </summary>
public sealed class GrainCallMetrics : IIncomingGrainCallFilter
{
    public const string InstrumentName = "alto.grain.calls";

    /// <summary>
    /// From half a millisecond (a grain answering from memory) to ten minutes (a whole host's plan or
    /// merge): a quantile over the buckets is only as fine as the bucket it falls in.
    /// </summary>
    private static readonly IReadOnlyList<double> CallBuckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    private readonly Counter<long> _calls;
    private readonly Histogram<double> _duration;

    public GrainCallMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(GrainInterfaces.Common.AltoMeter.Name);
        _calls = meter.CreateCounter<long>(InstrumentName, "{call}", "Calls received by grains, by grain interface");
        _duration = meter.CreateHistogram<double>("alto.grain.call.duration", "s", "Time a grain took to answer a call, by grain interface", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = CallBuckets });
    }

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var grain = new KeyValuePair<string, object?>("interface", context.InterfaceName);
        _calls.Add(1, grain);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await context.Invoke();
        }
        finally
        {
            _duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, grain);
        }
    }
}
