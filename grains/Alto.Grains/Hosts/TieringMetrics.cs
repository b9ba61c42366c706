using System.Diagnostics.Metrics;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Tiers;

namespace Alto.Grains.Hosts;

/// <summary>Tiering and recall figures for operators (meter "Alto"): outcomes per file, bytes moved off tier 1, recalls and their latency.</summary>
public sealed class TieringMetrics
{
    private readonly Counter<long> _files;
    private readonly Counter<long> _bytesSaved;
    private readonly Counter<long> _recalls;
    private readonly Histogram<double> _recallDuration;
    private readonly Counter<long> _jobsSent;
    private readonly Counter<long> _jobsEnded;
    private readonly Counter<long> _reportsRefused;
    private readonly Counter<long> _abandoned;

    public TieringMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(AltoMeter.Name);
        _files = meter.CreateCounter<long>("alto.tier.files", "{file}", "Files the agents reported, by outcome (stubbed, skipped, failed, unavailable)");
        _bytesSaved = meter.CreateCounter<long>("alto.tier.bytes_saved", "By", "Bytes released from tier 1 by stubbing");
        _recalls = meter.CreateCounter<long>("alto.recall.count", "{file}", "Recalls reported by the agents, by result");
        _recallDuration = meter.CreateHistogram<double>("alto.recall.duration", "s", "How long a program waited for a recall", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = AltoMeter.SecondsBuckets });
        _jobsSent = meter.CreateCounter<long>("alto.tier.jobs_sent", "{job}", "Jobs sent to agents (a lease re-send counts again)");
        _reportsRefused = meter.CreateCounter<long>("alto.agent.reports_refused", "{report}", "Agent reports refused whole for naming what is not the host's, by kind");
        _abandoned = meter.CreateCounter<long>("alto.tier.abandoned", "{file}", "Files whose tiering failed on every attempt and is given up (the originals stay on tier 1)");
        _jobsEnded = meter.CreateCounter<long>("alto.tier.jobs_ended", "{job}", "Jobs the agents finished, by status (completed, failed, queued again)");
    }

    public void FileReported(Guid tenantId, TierFileOutcome outcome, long bytesSaved)
    {
        _files.Add(1, AltoMeter.Tenant(tenantId), new KeyValuePair<string, object?>("outcome", outcome.ToString().ToLowerInvariant()));
        if (bytesSaved > 0)
        {
            _bytesSaved.Add(bytesSaved, AltoMeter.Tenant(tenantId));
        }
    }

    public void Recalled(Guid tenantId, bool succeeded, long durationMs)
    {
        _recalls.Add(1, AltoMeter.Tenant(tenantId), new KeyValuePair<string, object?>("result", succeeded ? "ok" : "failed"));
        _recallDuration.Record(durationMs / 1000.0, AltoMeter.Tenant(tenantId));
    }

    public void JobSent(Guid tenantId) => _jobsSent.Add(1, AltoMeter.Tenant(tenantId));

    public void ReportRefused(Guid tenantId, string kind) => _reportsRefused.Add(1, AltoMeter.Tenant(tenantId), new KeyValuePair<string, object?>("kind", kind));

    public void Abandoned(Guid tenantId, int files) => _abandoned.Add(files, AltoMeter.Tenant(tenantId));

    public void JobEnded(Guid tenantId, string status) => _jobsEnded.Add(1, AltoMeter.Tenant(tenantId), new KeyValuePair<string, object?>("status", status));
}
