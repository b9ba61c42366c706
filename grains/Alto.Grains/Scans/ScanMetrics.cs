using System.Diagnostics.Metrics;
using Alto.GrainInterfaces.Common;

namespace Alto.Grains.Scans;

/// <summary>Scan ingest figures for operators (meter "Alto"): how long merging a scan takes, how many files it brought, and how ingests ended.</summary>
public sealed class ScanMetrics
{
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _files;
    private readonly Counter<long> _ingests;
    private readonly Counter<long> _rootsEmptied;

    public ScanMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(AltoMeter.Name);
        _duration = meter.CreateHistogram<double>("alto.scan.ingest.duration", "s", "Time to merge one scan into the inventory", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = AltoMeter.SecondsBuckets });
        _files = meter.CreateCounter<long>("alto.scan.files_ingested", "{file}", "Files seen by the scans merged into the inventory");
        _rootsEmptied = meter.CreateFailureCounter("alto.scan.roots_emptied", "{root}",
            "Scanned roots below which a complete scan saw no file where the inventory had live files (a volume not mounted looks so)");
        _ingests = meter.CreateCounter<long>("alto.scan.ingests", "{scan}", "Scan ingests that ended, by result (completed; failed: bad data; expired: not merged before its staged rows expired; the scan is marked failed)");
    }

    public void Completed(Guid tenantId, double seconds, long filesSeen)
    {
        var tenant = AltoMeter.Tenant(tenantId);
        _duration.Record(seconds, tenant);
        _files.Add(filesSeen, tenant);
        _ingests.Add(1, tenant, new KeyValuePair<string, object?>("result", "completed"));
    }

    /// <summary>Roots a complete scan found empty where files were (<see cref="EmptiedRoot"/>).</summary>
    public void RootsEmptied(Guid tenantId, int roots)
    {
        if (roots > 0)
        {
            _rootsEmptied.Add(roots, AltoMeter.Tenant(tenantId));
        }
    }

    /// <summary>An ingest that failed on bad data: the scan is marked failed.</summary>
    public void Failed(Guid tenantId) => _ingests.Add(1, AltoMeter.Tenant(tenantId), new KeyValuePair<string, object?>("result", "failed"));

    /// <summary>A scan not merged before its staged rows expired: the scan is marked failed.</summary>
    public void Expired(Guid tenantId) => _ingests.Add(1, AltoMeter.Tenant(tenantId), new KeyValuePair<string, object?>("result", "expired"));
}
