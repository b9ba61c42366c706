using System.Text.RegularExpressions;
using Alto.Gateway.Options;

namespace Alto.Gateway.Validation;

public static partial class UserRules
{
    public static string? Username(RequestErrors errors, string? username) =>
        errors.Matches("username", username, UsernamePattern(), UsernameRules.Description, required: true);

    /// <summary>A new password: 12 to 256 characters, and not one zxcvbn finds easy to guess (<paramref name="username"/> counts as known).</summary>
    public static void NewPassword(RequestErrors errors, string field, string? password, string? username)
    {
        if (string.IsNullOrEmpty(password))
        {
            errors.Add(field, $"{field} is required");
        }
        else if (password.Length < PasswordRules.MinimumLength || password.Length > PasswordRules.MaximumLength)
        {
            errors.Add(field, $"{field} must be {PasswordRules.MinimumLength}-{PasswordRules.MaximumLength} characters");
        }
        else if (PasswordRules.Weakness(password, username ?? "") is { } weakness)
        {
            errors.Add(field, $"{field} is refused: {weakness}");
        }
    }

    [GeneratedRegex(UsernameRules.Pattern)]
    private static partial Regex UsernamePattern();
}
