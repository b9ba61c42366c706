namespace Alto.GrainInterfaces.Tenants;

/// <summary>Where tier-2 data goes: a mounted path (SMB share or any file system), S3, or Azure Blob.</summary>
public enum StorageTargetKind
{
    Path = 0,
    S3 = 1,
    Azure = 2,
}

/// <summary>Non-secret settings of a target; which members apply depends on the kind.</summary>
[GenerateSerializer, Immutable, Alias("Alto.StorageTargetSettings")]
public sealed record StorageTargetSettings(
    [property: Id(0)] string? Path,
    [property: Id(1)] string? Bucket,
    [property: Id(2)] string? Region,
    [property: Id(3)] string? Endpoint,
    [property: Id(4)] string? Prefix,
    [property: Id(5)] string? Container,
    [property: Id(6)] string? AccountUrl,
    [property: Id(7)] bool ForcePathStyle)
{
    /// <summary>"zstd" to compress objects on the agent before upload (recall decompresses); null or "none" to store them as they are.</summary>
    [Id(8)] public string? Compression { get; init; }

    /// <summary>
    /// An S3 or Azure target without credentials of its own: the agent uses the host's identity
    /// (for S3 its environment, profile or instance role; for Azure no credential at all — a
    /// container the host reaches by network rules). Without it such a target is refused: an agent
    /// never uses ambient credentials by accident.
    /// </summary>
    [Id(9)] public bool UseHostIdentity { get; init; }
}

/// <summary>Secrets of a target. Accepted on create/update, kept by the tenant grain, never returned.</summary>
[GenerateSerializer, Immutable, Alias("Alto.StorageTargetCredentials")]
public sealed record StorageTargetCredentials(
    [property: Id(0)] string? AccessKeyId,
    [property: Id(1)] string? SecretAccessKey,
    [property: Id(2)] string? ConnectionString,
    [property: Id(3)] string? AccountName,
    [property: Id(4)] string? AccountKey,
    [property: Id(5)] string? SasToken);

[GenerateSerializer, Immutable, Alias("Alto.StorageTargetInfo")]
public sealed record StorageTargetInfo(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid TenantId,
    [property: Id(2)] string Name,
    [property: Id(3)] StorageTargetKind Kind,
    [property: Id(4)] StorageTargetSettings Settings,
    [property: Id(5)] bool HasCredentials,
    [property: Id(6)] bool Enabled,
    [property: Id(7)] DateTimeOffset CreatedAt,
    [property: Id(8)] DateTimeOffset UpdatedAt);

[GenerateSerializer, Immutable, Alias("Alto.CreateStorageTarget")]
public sealed record CreateStorageTarget(
    [property: Id(0)] Guid TargetId,
    [property: Id(1)] string Name,
    [property: Id(2)] StorageTargetKind Kind,
    [property: Id(3)] StorageTargetSettings Settings,
    [property: Id(4)] StorageTargetCredentials? Credentials);

/// <summary>A partial update: null members are left as they are; the kind never changes.</summary>
[GenerateSerializer, Immutable, Alias("Alto.UpdateStorageTarget")]
public sealed record UpdateStorageTarget(
    [property: Id(0)] string? Name,
    [property: Id(1)] StorageTargetSettings? Settings,
    [property: Id(2)] StorageTargetCredentials? Credentials,
    [property: Id(3)] bool? Enabled);

/// <summary>
/// A target as the recovery kit keeps it: kind and settings, and its credentials exactly as the
/// tenant grain holds them (JSON encrypted with the tenant key), never opened on the way out.
/// </summary>
[GenerateSerializer, Immutable, Alias("Alto.RecoveryTarget")]
public sealed record RecoveryTarget(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] StorageTargetKind Kind,
    [property: Id(3)] StorageTargetSettings Settings,
    [property: Id(4)] string? SealedCredentials);
