using Alto.Audit;
using Alto.Silo.Extensions;
using Alto.Silo.Startup;
using Npgsql;

namespace Alto.Gateway.Auth;

/// <summary>
/// <c>Alto.Gateway break-glass --user NAME [--new-password]</c>, run on a server of the
/// installation (it needs the database's connection string from the same settings as the
/// gateway): clears every lockout of the account and enables it; with <c>--new-password</c> it also
/// sets a new generated password, shown once, and ends every session. For when every admin is
/// locked out or has lost their password. Audited on the platform chain as <c>auth.break_glass</c>
/// with the operating-system user who ran it.
/// </summary>
public static class BreakGlass
{
    public const string Verb = "break-glass";

    public static bool IsRequested(string[] args) => args.Length > 0 && args[0] == Verb;

    public static async Task<int> RunAsync(string[] args)
    {
        var options = args.Skip(1).ToList();
        var userAt = options.IndexOf("--user");
        if (userAt < 0 || userAt + 1 >= options.Count)
        {
            await Console.Error.WriteLineAsync($"usage: Alto.Gateway {Verb} --user NAME [--new-password]   (the gateway's settings name the database)");
            return 2;
        }
        var username = options[userAt + 1];
        var newPassword = options.Contains("--new-password");
        var builder = Host.CreateApplicationBuilder([.. options.Where((_, i) => i != userAt && i != userAt + 1 && options[i] != "--new-password")]);
        if (AltoStartup.UnknownSetting(builder.Configuration, KnownSettings.ForGateway(typeof(BreakGlass).Assembly)) is { } problem)
        {
            // A mistyped database setting would unlock the user in another database than the one meant.
            await Console.Error.WriteLineAsync($"{Verb}: {problem}");
            return 2;
        }
        builder.Services.AddAltoDatabase();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<UserStore>();
        builder.Services.AddSingleton<PasswordHashing>();
        using var host = builder.Build();
        var users = host.Services.GetRequiredService<UserStore>();
        try
        {
            if (await users.FindByUsernameAsync(username, CancellationToken.None) is not { } stored)
            {
                await Console.Error.WriteLineAsync($"{Verb}: there is no user '{username}'");
                return 2;
            }
            var password = newPassword ? AuthBootstrapService.GeneratePassword() : null;
            // All of it with its audit entry or none of it: a new password is never in force unprinted.
            var unlocked = await users.RecoverAsync(stored.User.Id, password is null ? null : host.Services.GetRequiredService<PasswordHashing>().Hash(password),
                unlocked => new AuditEntry(
                    null, $"server:{Environment.UserName}@{Environment.MachineName}", "auth.break_glass", "user", stored.User.Id.ToString(), Succeeded: true,
                    new Dictionary<string, object?> { ["username"] = username, ["unlockedAddresses"] = unlocked, ["enabled"] = true, ["passwordReset"] = newPassword }),
                CancellationToken.None);
            Console.WriteLine($"{username}: unlocked ({unlocked} address(es) were locked) and enabled.");
            if (password is not null)
            {
                Console.WriteLine($"New password (shown only now; every session of the user has ended): {password}");
            }
            return 0;
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            await Console.Error.WriteLineAsync($"{Verb}: the database the settings name holds no Alto installation ({exception.MessageText}): is Alto:Database:ConnectionString the gateway's?");
            return 3;
        }
        catch (NpgsqlException exception)
        {
            await Console.Error.WriteLineAsync($"{Verb}: the database cannot be reached: {exception.Message}");
            return 3;
        }
    }
}
