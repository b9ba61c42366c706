using System.Buffers;

namespace Alto.Tiering;

/// <summary>
/// Where objects live in a store: <c>{prefix}{tenant}/{aa}/{bb}/{sha256}</c>, the first two byte
/// pairs of the hash fanning objects out over directories (a path store) or key ranges.
/// Uploads land first under <c>{prefix}{tenant}/incoming/</c> until their hash is known.
/// </summary>
public static class ObjectKeys
{
    public const string MetadataSha256 = "alto-sha256";

    public static string TenantPrefix(string prefix, Guid tenantId) => $"{Normalize(prefix)}{tenantId:N}/";

    public static string Content(string prefix, Guid tenantId, string sha256) =>
        IsSha256(sha256)
            ? $"{TenantPrefix(prefix, tenantId)}{sha256[..2]}/{sha256[2..4]}/{sha256}"
            : throw new ArgumentException($"'{sha256}' is not a lower-case hex SHA-256", nameof(sha256));

    /// <summary>The length of the fan-out folders between a tenant's prefix and an object's name ("aa/bb/").</summary>
    public const int FanOutLength = 6;

    public static string Staging(string prefix, Guid tenantId) => $"{TenantPrefix(prefix, tenantId)}incoming/{Guid.NewGuid():N}";

    /// <summary>The hash a content key ends with, or null for any other key.</summary>
    public static string? Sha256Of(string key) => IsContentKey(key) ? key[(key.LastIndexOf('/') + 1)..] : null;

    /// <summary>Whether the key names content (ends in a hash, not in staging): checked in place, for every object of a listing.</summary>
    public static bool IsContentKey(string key) =>
        IsSha256(key.AsSpan(key.LastIndexOf('/') + 1)) && !key.Contains("/incoming/", StringComparison.Ordinal);

    public static bool IsSha256(string text) => IsSha256(text.AsSpan());

    public static bool IsSha256(ReadOnlySpan<char> text) => text.Length == 64 && !text.ContainsAnyExcept(LowerHexDigits);

    private static readonly SearchValues<char> LowerHexDigits = SearchValues.Create("0123456789abcdef");

    private static string Normalize(string prefix) =>
        prefix.Length == 0 ? "" : prefix.Trim('/') + "/";
}
