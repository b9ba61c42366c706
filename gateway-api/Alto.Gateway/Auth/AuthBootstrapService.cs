using System.Security.Cryptography;
using Alto.Gateway.Options;
using Microsoft.Extensions.Options;

namespace Alto.Gateway.Auth;

/// <summary>
/// At start-up: loads the token signing key, and makes sure a platform admin exists. The first
/// admin's password comes from configuration or is generated and printed once on the console.
/// </summary>
public sealed partial class AuthBootstrapService(
    SigningKeyStore keys,
    UserStore users,
    PasswordHashing passwords,
    IOptions<AuthOptions> options,
    ILogger<AuthBootstrapService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await keys.LoadAsync(cancellationToken);
        if (await users.AnyPlatformAdminAsync(cancellationToken))
        {
            return;
        }

        var username = options.Value.BootstrapAdminUsername;
        var configured = options.Value.BootstrapAdminPassword;
        var password = string.IsNullOrEmpty(configured) ? GeneratePassword() : configured;
        var id = Guid.NewGuid();
        var (outcome, _) = await users.CreateAsync(id, username, passwords.Hash(password), Roles.PlatformAdmin, [],
            _ => new Alto.Audit.AuditEntry(null, "system", "user.created", "user", id.ToString(), Succeeded: true,
                new Dictionary<string, object?> { ["username"] = username, ["role"] = Roles.PlatformAdmin, ["reason"] = "first platform admin, created at start" }),
            cancellationToken);
        if (outcome != CreateUserOutcome.Created)
        {
            // Another gateway created it at the same moment, or a non-admin user holds the name.
            LogBootstrapSkipped(logger, username, outcome.ToString());
            return;
        }

        LogBootstrapCreated(logger, username);
        if (string.IsNullOrEmpty(configured))
        {
            // Printed on the console only, never into the log pipeline, and only this once.
            Console.WriteLine($"""

                ============================================================================
                 Alto created the first platform admin.
                   user:     {username}
                   password: {password}
                 This password is shown only now. Sign in with POST /api/v1/auth/login.
                ============================================================================

                """);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static string GeneratePassword() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', '-').Replace('/', '_');

    [LoggerMessage(Level = LogLevel.Warning, Message = "Created the first platform admin '{Username}'")]
    private static partial void LogBootstrapCreated(ILogger logger, string username);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Did not create platform admin '{Username}': {Outcome}")]
    private static partial void LogBootstrapSkipped(ILogger logger, string username, string outcome);
}
