using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Alto.Keys;

/// <summary>
/// One-time enrollment tokens and host credentials. Both name their host (so a gateway knows
/// which grain to ask without a lookup table), carry 256 random bits, are shown once, and are
/// stored only as SHA-256.
/// <code>alto_enroll_{hostId:N}_{secret}</code> and <code>alto_host_{hostId:N}_{secret}</code>
/// </summary>
public static class EnrollmentTokens
{
    public const string EnrollmentPrefix = "alto_enroll_";
    public const string CredentialPrefix = "alto_host_";

    public static string NewEnrollmentToken(Guid hostId) => EnrollmentPrefix + hostId.ToString("N") + "_" + Secret();

    public static string NewCredential(Guid hostId) => CredentialPrefix + hostId.ToString("N") + "_" + Secret();

    /// <summary>Reads the host id out of a token or credential of the given kind; false for anything malformed.</summary>
    public static bool TryReadHostId(string? token, string prefix, [NotNullWhen(true)] out Guid? hostId)
    {
        hostId = null;
        if (token is null || token.Length > 200 || !token.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }
        var rest = token.AsSpan(prefix.Length);
        if (rest.Length < 34 || rest[32] != '_' || !Guid.TryParseExact(rest[..32], "N", out var id))
        {
            return false;
        }
        hostId = id;
        return true;
    }

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>Constant-time comparison, so the time taken says nothing about how much matched.</summary>
    public static bool Matches(string token, byte[]? storedHash) =>
        storedHash is not null && CryptographicOperations.FixedTimeEquals(Hash(token), storedHash);

    private static string Secret() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
