using Alto.Gateway.Options;
using Microsoft.Extensions.Options;

namespace Alto.Gateway.Auth;

/// <summary>
/// Checks a password the one way every sign-in does (the API's, the operator pages' Basic prompt,
/// and the current password of a password change): unknown users against a decoy hash, so timing
/// tells nothing; a wrong password counts toward the lockout of the account for the caller's
/// address (never for everyone: see <see cref="UserStore.RecordFailedSignInAsync"/>); every
/// refusal is audited with that address.
/// </summary>
public sealed class PasswordSignIn(UserStore users, PasswordHashing passwords, GatewayAudit audit, IOptions<AuthOptions> options)
{
    /// <summary>The user, when the password is right and the account enabled and not locked for this address; null otherwise.</summary>
    public async Task<AppUser?> TryAsync(HttpContext http, string username, string password, CancellationToken cancellationToken) =>
        await CheckAsync(http, await users.FindByUsernameAsync(username, cancellationToken), username, password, "auth.sign_in_failed", cancellationToken);

    /// <summary>The signed-in user's current password before a change, checked (and counted, and audited) like a sign-in.</summary>
    public Task<AppUser?> CheckCurrentAsync(HttpContext http, StoredUser stored, string password, CancellationToken cancellationToken) =>
        CheckAsync(http, stored, stored.User.Username, password, "auth.password_change_failed", cancellationToken);

    /// <summary>Where a request comes from, as lockouts count it.</summary>
    public static string AddressOf(HttpContext http) => GatewayAudit.OriginOf(http) ?? "unknown";

    private async Task<AppUser?> CheckAsync(
        HttpContext http, StoredUser? stored, string username, string password, string failedAction, CancellationToken cancellationToken)
    {
        var address = AddressOf(http);
        var check = passwords.Verify(stored?.PasswordHash, password);
        var lockedUntil = stored is null ? null : await users.LockedUntilAsync(stored.User.Id, address, cancellationToken);
        // A user of disabled tenants only is refused like a disabled account (platform admins belong to none).
        var tenantsDisabled = stored is not null && check != PasswordCheck.Wrong && stored.User.Role != Roles.PlatformAdmin
            && (await users.SessionTenantsAsync(stored.User.Id, stored.User.SessionVersion, cancellationToken))?.Length == 0;
        if (stored is null || check == PasswordCheck.Wrong || stored.User.Disabled || lockedUntil is not null || tenantsDisabled)
        {
            var reason = stored is null ? "unknown user"
                : stored.User.Disabled ? "account disabled"
                : lockedUntil is not null ? "account locked for this address"
                : tenantsDisabled ? "every tenant of the account is disabled"
                : "wrong password";
            var lockout = options.Value;
            if (stored is not null && lockedUntil is null && check == PasswordCheck.Wrong && lockout.LockoutThreshold > 0
                && await users.RecordFailedSignInAsync(stored.User.Id, address, lockout.LockoutThreshold, lockout.LockoutDuration, cancellationToken) is { } until)
            {
                await audit.RecordAsync(http, $"user:{username}", "auth.locked_out", "user", stored.User.Id.ToString(), succeeded: false,
                    new Dictionary<string, object?> { ["lockedUntil"] = until, ["address"] = address, ["failedSignIns"] = lockout.LockoutThreshold });
            }
            await audit.RecordAsync(http, $"user:{username}", failedAction, "user", stored?.User.Id.ToString(), succeeded: false,
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
