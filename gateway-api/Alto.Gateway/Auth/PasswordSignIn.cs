using Alto.Gateway.Options;
using Microsoft.Extensions.Options;

namespace Alto.Gateway.Auth;

/// <summary>
/// Checks a user name and password the one way every sign-in does (the API's, and the operator
/// pages' Basic prompt): unknown users against a decoy hash, so timing tells nothing; a wrong
/// password counts toward the account's lockout; every refusal is audited with the caller's address.
/// </summary>
public sealed class PasswordSignIn(UserStore users, PasswordHashing passwords, GatewayAudit audit, IOptions<AuthOptions> options)
{
    /// <summary>The user, when the password is right and the account enabled and not locked; null otherwise.</summary>
    public async Task<AppUser?> TryAsync(HttpContext http, string username, string password, CancellationToken cancellationToken)
    {
        var stored = await users.FindByUsernameAsync(username, cancellationToken);
        var check = passwords.Verify(stored?.PasswordHash, password);
        var lockedUntil = stored is null ? null : await users.LockedUntilAsync(stored.User.Id, cancellationToken);
        if (stored is null || check == PasswordCheck.Wrong || stored.User.Disabled || lockedUntil is not null)
        {
            var reason = stored is null ? "unknown user"
                : stored.User.Disabled ? "account disabled"
                : lockedUntil is not null ? "account locked"
                : "wrong password";
            var lockout = options.Value;
            if (stored is not null && lockedUntil is null && check == PasswordCheck.Wrong && lockout.LockoutThreshold > 0
                && await users.RecordFailedSignInAsync(stored.User.Id, lockout.LockoutThreshold, lockout.LockoutDuration, cancellationToken) is { } until)
            {
                await audit.RecordAsync(http, $"user:{username}", "auth.locked_out", "user", stored.User.Id.ToString(), succeeded: false,
                    new Dictionary<string, object?> { ["lockedUntil"] = until, ["failedSignIns"] = lockout.LockoutThreshold });
            }
            await audit.RecordAsync(http, $"user:{username}", "auth.sign_in_failed", "user", stored?.User.Id.ToString(), succeeded: false,
                new Dictionary<string, object?> { ["reason"] = reason, ["path"] = http.Request.Path.Value });
            return null;
        }
        if (check == PasswordCheck.RightButRehash)
        {
            await users.SetPasswordHashAsync(stored.User.Id, passwords.Hash(password), cancellationToken);
        }
        return stored.User;
    }
}
