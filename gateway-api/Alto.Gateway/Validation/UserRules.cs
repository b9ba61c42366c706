using System.Text.RegularExpressions;
using Alto.Gateway.Options;

namespace Alto.Gateway.Validation;

public static partial class UserRules
{
    public static string? Username(RequestErrors errors, string? username) =>
        errors.Matches("username", username, UsernamePattern(), UsernameRules.Description, required: true);

    public static void NewPassword(RequestErrors errors, string field, string? password)
    {
        if (string.IsNullOrEmpty(password))
        {
            errors.Add(field, $"{field} is required");
        }
        else if (password.Length < PasswordRules.MinimumLength || password.Length > PasswordRules.MaximumLength)
        {
            errors.Add(field, $"{field} must be {PasswordRules.MinimumLength}-{PasswordRules.MaximumLength} characters");
        }
    }

    [GeneratedRegex(UsernameRules.Pattern)]
    private static partial Regex UsernamePattern();
}
