using System.Diagnostics;
using System.Diagnostics.Metrics;
using Alto.GrainInterfaces.Common;

namespace Alto.Grains.Planning;

/// <summary>Planning figures for operators (meter "Alto"): how long plans take, how many files they see and plan, and inventory work that failed.</summary>
public sealed class PlannerMetrics
{
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _evaluated;
    private readonly Counter<long> _selected;
    private readonly Counter<long> _workFailed;
    private readonly Counter<long> _trailBatchesFailed;

    public PlannerMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(AltoMeter.Name);
        _duration = meter.CreateHistogram<double>("alto.plan.duration", "s", "Time to plan one host (inventory read, rule evaluation, writes)", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = AltoMeter.SecondsBuckets });
        _evaluated = meter.CreateCounter<long>("alto.plan.files_evaluated", "{file}", "Files run through the rules");
        _selected = meter.CreateCounter<long>("alto.plan.files_selected", "{file}", "Files the rules selected for tiering");
        _workFailed = meter.CreateFailureCounter("alto.inventory.work_failed", "{run}", "Inventory work (a plan, applying the trail) that failed: after an outage the host tries again by itself, else at its next trigger");
        _trailBatchesFailed = meter.CreateFailureCounter("alto.trail.batches_failed", "{batch}", "Staged LucidLink trail batches the database refused, set aside unapplied");
    }

    public void InventoryWorkFailed(Guid tenantId) => _workFailed.Add(1, AltoMeter.Tenant(tenantId));

    public void TrailBatchFailed(Guid tenantId) => _trailBatchesFailed.Add(1, AltoMeter.Tenant(tenantId));

    public void Record(Guid tenantId, bool dryRun, double seconds, long evaluated, long selected)
    {
        var tags = new TagList { AltoMeter.Tenant(tenantId), new KeyValuePair<string, object?>("dry_run", dryRun) };
        _duration.Record(seconds, tags);
        _evaluated.Add(evaluated, tags);
        _selected.Add(selected, tags);
    }
}
