using System.Security.Cryptography;
using System.Text;

namespace Alto.Grains.Hosts;

/// <summary>One-time enrollment tokens and host credentials: random, shown once, stored as SHA-256.</summary>
public static class EnrollmentTokens
{
    public const string EnrollmentPrefix = "alto_enroll_";

    public static string NewEnrollmentToken() => EnrollmentPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>Constant-time comparison, so the time taken says nothing about how much matched.</summary>
    public static bool Matches(string token, byte[]? storedHash) =>
        storedHash is not null && CryptographicOperations.FixedTimeEquals(Hash(token), storedHash);

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
