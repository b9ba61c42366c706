using System.ComponentModel.DataAnnotations;

namespace Alto.Grains.Scans;

/// <summary>How scans are merged into the inventory (configuration section Alto:Ingest).</summary>
public sealed class IngestOptions
{
    public const string Section = "Alto:Ingest";

    /// <summary>
    /// Merges one silo runs at once; more wait, queued, for a free slot. Every merge writes the same
    /// inventory table, so beyond a few at once they only wait on each other's locks (measured with
    /// a hundred hosts uploading together: most merges stood in the table's extension lock) and
    /// each holds a connection and up to 256 MB of sort memory meanwhile.
    /// </summary>
    [Range(1, 64)]
    public int MaxConcurrentMerges { get; set; } = 2;
}
