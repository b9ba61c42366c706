using System.Diagnostics.Metrics;
using Alto.GrainInterfaces.Common;

namespace Alto.Grains.Reconcile;

/// <summary>Reconciliation figures for operators (meter "Alto"): runs by how they ended, findings by class and kind.</summary>
public sealed class ReconcileMetrics
{
    private readonly Counter<long> _runs;
    private readonly Counter<long> _findings;
    private readonly Counter<long> _reclaimed;
    private readonly Counter<long> _retiered;

    public ReconcileMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(AltoMeter.Name);
        _runs = meter.CreateCounter<long>("alto.reconcile.runs", "{run}", "Reconciliation runs, by status (started, completed, failed; skipped: a scheduled run that could not start)");
        _findings = meter.CreateCounter<long>("alto.reconcile.findings", "{finding}",
            "What reconciliation runs found, by class (missing: a stub's object is gone or damaged; orphan: an object no record references; found: a lost object whole again) and kind");
        _reclaimed = meter.CreateCounter<long>("alto.reconcile.reclaimed", "{object}",
            "Orphans a run set out to delete, by outcome (deleted; newer: modified since the cut-off, kept; absent: gone already; failed: the delete failed, kept)");
        _retiered = meter.CreateCounter<long>("alto.reconcile.retiered", "{stub}",
            "Lost stubs re-tiered from an intact copy, by outcome (restored: STUBBED again; mismatch: the copy changed; failed)");
    }

    public void Retiered(Guid tenantId, string outcome) => _retiered.Add(1, AltoMeter.Tenant(tenantId), new KeyValuePair<string, object?>("outcome", outcome));

    public void Reclaimed(Guid tenantId, string outcome, long count)
    {
        if (count > 0)
        {
            _reclaimed.Add(count, AltoMeter.Tenant(tenantId), new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    public void Run(Guid tenantId, string status) => _runs.Add(1, AltoMeter.Tenant(tenantId), new KeyValuePair<string, object?>("status", status));

    public void Found(Guid tenantId, string findingClass, string kind, long count)
    {
        if (count > 0)
        {
            _findings.Add(count, AltoMeter.Tenant(tenantId), new KeyValuePair<string, object?>("class", findingClass), new KeyValuePair<string, object?>("kind", kind));
        }
    }
}
