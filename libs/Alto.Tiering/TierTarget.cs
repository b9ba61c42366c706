namespace Alto.Tiering;

/// <summary>
/// Everything needed to open one storage target: its kind, its settings and its secrets. The
/// agent receives it inside a job over its authenticated session; it is never written to disk.
/// </summary>
public sealed record TierTarget(
    string Kind,
    string? Path = null,
    string? Bucket = null,
    string? Region = null,
    string? Endpoint = null,
    string? Prefix = null,
    string? Container = null,
    string? AccountUrl = null,
    bool ForcePathStyle = false,
    string? AccessKeyId = null,
    string? SecretAccessKey = null,
    string? ConnectionString = null,
    string? AccountName = null,
    string? AccountKey = null,
    string? SasToken = null,
    string? Compression = null,
    bool UseHostIdentity = false)
{
    /// <summary>True when objects are compressed with zstd on the agent before upload.</summary>
    public bool Compresses => Compression == "zstd";

    /// <summary>Opens the store the target describes; a folder's calls are given up after <paramref name="folderStall"/> without progress (<see cref="PathTierStore.DefaultStallLimit"/> if null).</summary>
    public ITierStore Open(TimeSpan? folderStall = null) => Kind switch
    {
        "path" => new PathTierStore(Path ?? throw Missing("path"), Prefix ?? "", folderStall),
        // The host's own credentials (environment, profile, instance role) only when the target says so.
        "s3" when AccessKeyId is not { Length: > 0 } && !UseHostIdentity => throw NoCredentials(),
        "azure" when ConnectionString is not { Length: > 0 } && AccountKey is not { Length: > 0 } && SasToken is not { Length: > 0 } && !UseHostIdentity
            => throw NoCredentials(),
        "s3" => new S3TierStore(
            S3TierStore.CreateClient(Endpoint, Region, ForcePathStyle, AccessKeyId, SecretAccessKey), Bucket ?? throw Missing("bucket"), Prefix ?? ""),
        "azure" => new AzureBlobTierStore(
            AzureBlobTierStore.CreateContainerClient(Container ?? throw Missing("container"), ConnectionString, AccountUrl, AccountName, AccountKey, SasToken),
            Prefix ?? ""),
        _ => throw new ArgumentException($"unknown storage target kind '{Kind}'"),
    };

    // Secrets stay out of logs and exceptions.
    public override string ToString() => $"{Kind} target ({Path ?? Bucket ?? Container})";

    private ArgumentException Missing(string setting) => new($"a {Kind} target needs its {setting}");

    private ArgumentException NoCredentials() =>
        new($"the {Kind} target has no credentials and does not allow the host's own identity (settings.useHostIdentity)");
}
