namespace Alto.GrainInterfaces.Scans;

/// <summary>Published on the scan-completed stream (keyed by host id) when a scan's ingest commits.</summary>
[GenerateSerializer, Immutable, Alias("Alto.ScanCompleted")]
public sealed record ScanCompleted(
    [property: Id(0)] long ScanId,
    [property: Id(1)] Guid TenantId,
    [property: Id(2)] Guid HostId,
    [property: Id(3)] DateTimeOffset CompletedAt,
    [property: Id(4)] long FilesSeen,
    [property: Id(5)] long FilesChanged,
    [property: Id(6)] long FilesDeleted);

/// <summary>Names of Orleans streams, kept in one place.</summary>
public static class StreamNames
{
    public const string Provider = "alto";

    /// <summary>Namespace of the per-host stream of <see cref="ScanCompleted"/> events.</summary>
    public const string ScanCompleted = "scan-completed";
}
