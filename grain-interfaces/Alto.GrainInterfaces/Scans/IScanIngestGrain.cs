namespace Alto.GrainInterfaces.Scans;

/// <summary>
/// Ingests one staged scan (keyed by alto.scan.id) into the inventory. Starting twice is
/// harmless; a reminder restarts an ingest that a silo crash interrupted.
/// </summary>
[Alias("Alto.IScanIngestGrain")]
public interface IScanIngestGrain : IGrainWithIntegerKey
{
    /// <summary>Begins the ingest in the background and returns at once (the ingest runs on an interleaving timer, so a call never waits for it).</summary>
    [Alias("StartAsync")]
    Task StartAsync();
}

/// <summary>Drops staging partitions past their retention, on a reminder.</summary>
[Alias("Alto.IStagingRetentionGrain")]
public interface IStagingRetentionGrain : IGrainWithIntegerKey
{
    /// <summary>Makes sure the retention reminder is registered (idempotent); a first registration also sweeps now.</summary>
    [Alias("EnsureScheduledAsync")]
    Task<int> EnsureScheduledAsync();
}
