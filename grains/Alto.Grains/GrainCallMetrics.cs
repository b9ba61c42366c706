using System.Diagnostics.Metrics;

namespace Alto.Grains;

/// <summary>
/// Counts the calls every grain receives, by grain interface (alto.grain.calls, meter "Alto"): what
/// a job, a scan or a report costs in grain traffic, for operators and for bench/run.sh job-cost.
/// </summary>
public sealed class GrainCallMetrics : IIncomingGrainCallFilter
{
    public const string InstrumentName = "alto.grain.calls";

    private readonly Counter<long> _calls;

    public GrainCallMetrics(IMeterFactory meters) =>
        _calls = meters.Create(GrainInterfaces.Common.AltoMeter.Name).CreateCounter<long>(InstrumentName, "{call}", "Calls received by grains, by grain interface");

    public Task Invoke(IIncomingGrainCallContext context)
    {
        _calls.Add(1, new KeyValuePair<string, object?>("interface", context.InterfaceName));
        return context.Invoke();
    }
}
