using System.Diagnostics;
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

    private readonly Fleet.HostLabels _hosts;

    public TieringMetrics(IMeterFactory meters, Fleet.HostLabels hosts)
    {
        _hosts = hosts;
        var meter = meters.Create(AltoMeter.Name);
        _files = meter.CreateCounter<long>("alto.tier.files", "{file}", "Files the agents reported, by outcome (stubbed, skipped, failed, unavailable)");
        _bytesSaved = meter.CreateCounter<long>("alto.tier.bytes_saved", "By", "Bytes released from tier 1 by stubbing");
        _recalls = meter.CreateCounter<long>("alto.recall.count", "{file}", "Recalls reported by the agents, by result");
        _recallDuration = meter.CreateHistogram<double>("alto.recall.duration", "s", "How long a program waited for a recall", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = AltoMeter.SecondsBuckets });
        _jobsSent = meter.CreateCounter<long>("alto.tier.jobs_sent", "{job}", "Jobs sent to agents (a lease re-send counts again)");
        _reportsRefused = meter.CreateFailureCounter("alto.agent.reports_refused", "{report}", "Agent reports refused whole for naming what is not the host's, by kind");
        _abandoned = meter.CreateFailureCounter("alto.tier.abandoned", "{file}", "Files whose tiering failed on every attempt and is given up (the originals stay on tier 1)");
        _jobsEnded = meter.CreateCounter<long>("alto.tier.jobs_ended", "{job}", "Jobs the agents finished, by status (completed, failed, queued again)");
    }

    public void FileReported(Guid tenantId, Guid hostId, TierFileOutcome outcome, long bytesSaved)
    {
        _files.Add(1, Tags(tenantId, hostId, ("outcome", outcome.ToString().ToLowerInvariant())));
        if (bytesSaved > 0)
        {
            _bytesSaved.Add(bytesSaved, Tags(tenantId, hostId));
        }
    }

    public void Recalled(Guid tenantId, Guid hostId, bool succeeded, long durationMs)
    {
        _recalls.Add(1, Tags(tenantId, hostId, ("result", succeeded ? "ok" : "failed")));
        _recallDuration.Record(durationMs / 1000.0, Tags(tenantId, hostId));
    }

    public void JobSent(Guid tenantId, Guid hostId) => _jobsSent.Add(1, Tags(tenantId, hostId));

    public void ReportRefused(Guid tenantId, Guid hostId, string kind) => _reportsRefused.Add(1, Tags(tenantId, hostId, ("kind", kind)));

    public void Abandoned(Guid tenantId, Guid hostId, int files) => _abandoned.Add(files, Tags(tenantId, hostId));

    public void JobEnded(Guid tenantId, Guid hostId, string status) => _jobsEnded.Add(1, Tags(tenantId, hostId, ("status", status)));

    /// <summary>The tenant, the host (bounded, see <see cref="Fleet.HostLabels"/>) and the figure's own label, if any.</summary>
    private TagList Tags(Guid tenantId, Guid hostId, (string Name, string Value)? own = null)
    {
        var tags = new TagList { AltoMeter.Tenant(tenantId), _hosts.For(hostId) };
        if (own is { } label)
        {
            tags.Add(label.Name, label.Value);
        }
        return tags;
    }
}
