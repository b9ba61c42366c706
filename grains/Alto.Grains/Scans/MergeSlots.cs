using Microsoft.Extensions.Options;

namespace Alto.Grains.Scans;

/// <summary>The silo's merge slots (<see cref="IngestOptions.MaxConcurrentMerges"/>): a scan's ingest holds one while it merges.</summary>
public sealed class MergeSlots(IOptions<IngestOptions> options) : WorkSlots(options.Value.MaxConcurrentMerges);
