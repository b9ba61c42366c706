using System.ComponentModel.DataAnnotations;

namespace Alto.Gateway.Options;

public sealed class AuthOptions : IValidatableObject
{
    public const string Section = "Alto:Auth";

    [Required]
    public string Issuer { get; set; } = "alto";

    [Required]
    public string Audience { get; set; } = "alto-api";

    /// <summary>How long a sign-in token is valid.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Name of the platform admin created at first start when no platform admin exists.</summary>
    [Required, RegularExpression(UsernameRules.Pattern, ErrorMessage = "Alto:Auth:BootstrapAdminUsername " + UsernameRules.Description)]
    public string BootstrapAdminUsername { get; set; } = "admin";

    /// <summary>Its password; when empty a random one is generated and printed once.</summary>
    public string? BootstrapAdminPassword { get; set; }

    /// <summary>Sign-in attempts allowed per client address per minute; more are answered 429.</summary>
    [Range(1, 100_000)]
    public int LoginAttemptsPerMinute { get; set; } = 30;

    /// <summary>Failed sign-ins in a row that lock an account (0 turns lockout off).</summary>
    [Range(0, 1000)]
    public int LockoutThreshold { get; set; } = 5;

    /// <summary>How long a locked account stays locked; a successful sign-in after it resets the count.</summary>
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The key that signs sign-in tokens (base64, at least 32 bytes), for installations that keep
    /// it in a secret store; when empty the installation's own key is used (generated once, kept in
    /// the database sealed with the master key).
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>The configured signing key's bytes, or null when none is configured (or it is not valid base64).</summary>
    public byte[]? SigningKeyBytes()
    {
        if (string.IsNullOrWhiteSpace(SigningKey))
        {
            return null;
        }
        var bytes = new byte[SigningKey.Length];
        return Convert.TryFromBase64String(SigningKey.Trim(), bytes, out var written) ? bytes[..written] : null;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(SigningKey) && SigningKeyBytes() is not { Length: >= 32 })
        {
            yield return new ValidationResult("Alto:Auth:SigningKey must be base64 of at least 32 bytes (openssl rand -base64 64)", [nameof(SigningKey)]);
        }
        if (TokenLifetime < TimeSpan.FromMinutes(1) || TokenLifetime > TimeSpan.FromDays(7))
        {
            yield return new ValidationResult("Alto:Auth:TokenLifetime must be between 00:01:00 and 7.00:00:00", [nameof(TokenLifetime)]);
        }
        if (LockoutDuration <= TimeSpan.Zero || LockoutDuration > TimeSpan.FromDays(1))
        {
            yield return new ValidationResult("Alto:Auth:LockoutDuration must be between 00:00:01 and 1.00:00:00", [nameof(LockoutDuration)]);
        }
        if (!string.IsNullOrEmpty(BootstrapAdminPassword) && BootstrapAdminPassword.Length < PasswordRules.MinimumLength)
        {
            yield return new ValidationResult(
                $"Alto:Auth:BootstrapAdminPassword must be at least {PasswordRules.MinimumLength} characters", [nameof(BootstrapAdminPassword)]);
        }
        else if (!string.IsNullOrEmpty(BootstrapAdminPassword) && PasswordRules.Weakness(BootstrapAdminPassword, BootstrapAdminUsername) is { } weakness)
        {
            yield return new ValidationResult($"Alto:Auth:BootstrapAdminPassword is refused: {weakness}", [nameof(BootstrapAdminPassword)]);
        }
    }
}

public static class UsernameRules
{
    public const string Pattern = "^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$";
    public const string Description = "must be 1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit";
}

public static class PasswordRules
{
    public const int MinimumLength = 12;
    public const int MaximumLength = 256;

    /// <summary>zxcvbn's score (0-4) a new password must reach: 3 is "safely unguessable" by an online attack and hard offline.</summary>
    public const int MinimumScore = 3;

    /// <summary>
    /// Why <paramref name="password"/> is too easy to guess, or null when it is not: Dropbox's
    /// zxcvbn estimator, whose dictionaries hold the most common passwords, words and names, and
    /// which sees keyboard walks, repeats, sequences and dates. <paramref name="context"/> (the user
    /// name) counts as known to the attacker.
    /// </summary>
    public static string? Weakness(string password, params string[] context)
    {
        var result = Zxcvbn.Zxcvbn.MatchPassword(password, context);
        if (result.Score >= MinimumScore)
        {
            return null;
        }
        var common = result.MatchSequence.OfType<Zxcvbn.Matcher.DictionaryMatch>().FirstOrDefault(match => match.DictionaryName == "passwords");
        return common is not null
            ? $"it is built on '{common.Token}', one of the most common passwords; add words or characters nobody would guess"
            : $"it is too easy to guess (about {result.CrackTimeDisplay} for an attacker); add words or characters nobody would guess";
    }
}
