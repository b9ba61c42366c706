using System.ComponentModel.DataAnnotations;

namespace Alto.Gateway.Scans;

/// <summary>Limits on agents' scan uploads.</summary>
public sealed class ScanUploadOptions
{
    public const string Section = "Alto:ScanUpload";

    /// <summary>Largest request body (compressed chunk) accepted, in bytes.</summary>
    [Range(1024, 1L << 32)]
    public long MaxBodyBytes { get; set; } = 64L << 20;

    /// <summary>Largest decompressed chunk, in bytes: the guard against compression bombs.</summary>
    [Range(1024, 1L << 33)]
    public long MaxDecompressedBytes { get; set; } = 512L << 20;

    /// <summary>Chunks taken in at once across all hosts; more get 503 with Retry-After.</summary>
    [Range(1, 1024)]
    public int MaxConcurrentUploads { get; set; } = 8;

    /// <summary>Chunks of one host taken in at once; more get 429 with Retry-After.</summary>
    [Range(1, 64)]
    public int MaxConcurrentUploadsPerHost { get; set; } = 2;

    /// <summary>What Retry-After tells a refused uploader, in seconds.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 2;

    /// <summary>Most rows in one chunk.</summary>
    [Range(1, 10_000_000)]
    public int MaxRowsPerChunk { get; set; } = 1_000_000;
}
