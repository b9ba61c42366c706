using System.Security.Cryptography;
using System.Text.Json;

namespace Alto.GrainInterfaces.Common;

/// <summary>
/// A resource's revision: a digest of every field of what a client reads (the resource serialized
/// as JSON), so it changes with every change the client could see and with nothing else. The
/// gateway sends it as the ETag; a change carrying it in If-Match is refused when the resource
/// moved on since, which keeps two admins editing the same rule or target from silently undoing
/// each other's change.
/// </summary>
public static class Revision
{
    private static readonly JsonSerializerOptions Representation = new(JsonSerializerDefaults.Web);

    /// <summary>The revision of <paramref name="resource"/>: 22 URL-safe characters (128 bits of SHA-256).</summary>
    public static string Of<T>(T resource)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(resource, Representation), digest);
        return Convert.ToBase64String(digest[..16]).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>
    /// <c>If-Match: *</c>: any revision, as long as the resource exists (RFC 9110, 13.1.1). No
    /// revision is spelt so: they are base64url.
    /// </summary>
    public const string Any = "*";

    /// <summary>
    /// Null when <paramref name="resource"/> is at one of the <paramref name="expected"/> revisions
    /// (none given: no precondition); otherwise why a change of it is refused (<see cref="CommandErrorKind.Stale"/>).
    /// </summary>
    public static string? Stale<T>(T resource, string[]? expected, string what)
    {
        if (expected is null || expected.Contains(Any, StringComparer.Ordinal))
        {
            return null;
        }
        var current = Of(resource);
        return expected.Contains(current, StringComparer.Ordinal)
            ? null
            : $"{what} was changed since it was read (its revision is now \"{current}\"); " +
                "nothing was changed: read it again and send the change with its new ETag in If-Match";
    }
}
