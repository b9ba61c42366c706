using Microsoft.AspNetCore.Identity;

namespace Alto.Gateway.Auth;

/// <summary>
/// Password hashes from ASP.NET Core Identity's hasher (PBKDF2-HMAC-SHA512, salted, versioned
/// format), so the iteration count can rise later without invalidating stored hashes.
/// </summary>
public sealed class PasswordHashing
{
    private static readonly PasswordUser User = new();
    private readonly PasswordHasher<PasswordUser> _hasher = new();

    /// <summary>A hash to verify against when the user does not exist, so both paths cost the same.</summary>
    private readonly Lazy<string> _decoy;

    public PasswordHashing() => _decoy = new Lazy<string>(() => Hash(Guid.NewGuid().ToString()));

    public string Hash(string password) => _hasher.HashPassword(User, password);

    public PasswordCheck Verify(string? storedHash, string password)
    {
        var result = _hasher.VerifyHashedPassword(User, storedHash ?? _decoy.Value, password);
        return storedHash is null ? PasswordCheck.Wrong : result switch
        {
            PasswordVerificationResult.Success => PasswordCheck.Right,
            PasswordVerificationResult.SuccessRehashNeeded => PasswordCheck.RightButRehash,
            _ => PasswordCheck.Wrong,
        };
    }

    /// <summary>The hasher needs a user type; Alto's hashes do not depend on the user.</summary>
    private sealed class PasswordUser;
}

public enum PasswordCheck
{
    Wrong = 0,
    Right = 1,
    RightButRehash = 2,
}
