using System.Net.Sockets;
using Alto.Silo.Extensions;
using Alto.Silo.Migrations;
using Alto.Silo.Options;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Alto.Silo.Startup;

/// <summary>
/// Starts an Alto process the way an operator wants it to fail: configuration is validated and
/// the database migrated before anything listens, and a bad setting, an unreachable database or
/// a schema newer than the code ends the process with one clear log line and a distinct exit code.
/// </summary>
public static partial class AltoStartup
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitBadConfiguration = 2;
    public const int ExitDatabaseUnreachable = 3;
    public const int ExitSchemaMismatch = 4;
    public const int ExitPortInUse = 5;

    public static Task<int> RunAltoAsync(this WebApplication app) => GuardAsync(app.Services, () => app.RunAsync());

    /// <summary>
    /// Builds the process's host: a setting that cannot even be read as its type (a word where a
    /// switch, a number or a URL belongs) is found here, before validation, and ends the process
    /// as a failed validation does — one line naming the setting, exit code 2 — not with a stack trace.
    /// </summary>
    /// <returns>The built application, or null when a setting was unreadable (already reported).</returns>
    public static WebApplication? BuildOrReport(this WebApplicationBuilder builder, Action<WebApplicationBuilder> configure)
    {
        try
        {
            configure(builder);
            return builder.Build();
        }
        catch (Exception exception) when (UnreadableSetting(exception) is { } problem)
        {
            using var loggers = LoggerFactory.Create(logging => logging.AddAltoConsole());
            LogBadConfiguration(loggers.CreateLogger("Alto.Startup"), problem);
            return null;
        }
    }

    /// <summary>What is wrong when <paramref name="exception"/> says a setting could not be read, else null.</summary>
    private static string? UnreadableSetting(Exception exception) => Chain(exception).FirstOrDefault(e =>
            e is SettingException or OptionsValidationException
            // The configuration binder's own words: "Failed to convert configuration value 'yes' at 'Alto:Cluster:Tls' to type 'System.Boolean'."
            || e is InvalidOperationException && e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal)) switch
        {
            OptionsValidationException validation => string.Join("; ", validation.Failures),
            { } unreadable => unreadable.Message,
            null => null,
        };

    /// <summary>
    /// <c>migrate</c>: brings the database's schema up to this version and exits — what an
    /// installer runs before the new version's processes start (the Helm chart's pre-upgrade
    /// Job). The same exit codes as a start: 3 database unreachable, 4 schema newer than the code.
    /// </summary>
    public static async Task<int> MigrateAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        // A mistyped setting here could migrate another database than the one meant (the default's).
        if (UnknownSetting(builder.Configuration, KnownSettings.ForSilo()) is { } problem)
        {
            using var loggers = LoggerFactory.Create(logging => logging.AddAltoConsole());
            LogBadConfiguration(loggers.CreateLogger("Alto.Startup"), problem);
            return ExitBadConfiguration;
        }
        // One line per message, as the silo's own start-up logs.
        builder.Logging.ClearProviders().AddAltoConsole();
        builder.Services.AddAltoDatabase();
        using var host = builder.Build();
        return await GuardAsync(host.Services, async () =>
        {
            var report = await host.Services.GetRequiredService<MigrationRunner>().MigrateAsync();
            LogMigrated(host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Alto.Startup"), report.FromVersion, report.ToVersion,
                report.Applied.Count == 0 ? "nothing to apply" : string.Join(", ", report.Applied));
        });
    }

    /// <summary>What is wrong when a setting under <c>Alto:</c> is none of <paramref name="known"/>, else null.</summary>
    public static string? UnknownSetting(IConfiguration configuration, KnownSettings known)
    {
        try
        {
            known.Check(configuration);
            return null;
        }
        catch (SettingException exception)
        {
            return exception.Message;
        }
    }

    private static async Task<int> GuardAsync(IServiceProvider services, Func<Task> run)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Alto.Startup");
        var database = "the configured database";
        ListeningPort[] listening = [];
        try
        {
            // Settings first, so a typo is reported as such and not as whatever it breaks later.
            services.GetService<IStartupValidator>()?.Validate();
            database = DescribeDatabase(services.GetRequiredService<IOptions<DatabaseOptions>>().Value);
            // Read now: once start-up fails, the services are gone.
            listening = [.. services.GetServices<ListeningPort>()];
            await run();
            return ExitOk;
        }
        catch (OptionsValidationException exception)
        {
            LogBadConfiguration(logger, string.Join("; ", exception.Failures));
            return ExitBadConfiguration;
        }
        catch (Exception exception) when (UnreadableSetting(exception) is { } problem)
        {
            LogBadConfiguration(logger, problem);
            return ExitBadConfiguration;
        }
        catch (Exception exception) when (IsDatabaseUnreachable(exception))
        {
            LogDatabaseUnreachable(logger, database, exception.GetBaseException().Message);
            return ExitDatabaseUnreachable;
        }
        catch (Exception exception) when (IsAddressInUse(exception))
        {
            var ports = PortsInUse(exception, listening);
            LogPortInUse(logger, ports.Length == 0 ? "a port this process listens on" : string.Join(", ", ports.Select(p => $"port {p.Port} ({p.Setting})")));
            return ExitPortInUse;
        }
        catch (Exception exception) when (exception is DatabaseNewerThanCodeException or MigrationChecksumException)
        {
            LogSchemaMismatch(logger, exception.Message);
            return ExitSchemaMismatch;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogFailed(logger, exception.GetType().Name, exception.GetBaseException().Message);
            return ExitFailed;
        }
    }

    private static bool IsDatabaseUnreachable(Exception exception) =>
        exception is NpgsqlException { InnerException: SocketException or TimeoutException or IOException }
        || exception is NpgsqlException && exception.GetBaseException() is SocketException
        || exception is PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName or PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification };

    private static bool IsAddressInUse(Exception exception) =>
        Chain(exception).Any(e => e is Microsoft.AspNetCore.Connections.AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse });

    /// <summary>
    /// Which of the process's ports another program has: the address Kestrel names in its message
    /// ("Failed to bind to address http://…"), else every configured port that cannot be bound now.
    /// </summary>
    private static ListeningPort[] PortsInUse(Exception exception, IEnumerable<ListeningPort> configured)
    {
        var ports = configured.ToArray();
        var named = Chain(exception)
            .Select(e => System.Text.RegularExpressions.Regex.Match(e.Message, @"Failed to bind to address \S+?:(\d+)"))
            .FirstOrDefault(match => match.Success);
        if (named is not null && int.TryParse(named.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture, out var port))
        {
            return [ports.FirstOrDefault(p => p.Port == port) ?? new ListeningPort("an HTTP endpoint", port)];
        }
        // Orleans says which of its listeners failed only in its stack; the other may still be held by this process.
        var stacks = string.Join('\n', Chain(exception).Select(e => e.StackTrace));
        var orleans = stacks.Contains("GatewayConnectionListener", StringComparison.Ordinal) ? "Alto:Cluster:GatewayPort"
            : stacks.Contains("SiloConnectionListener", StringComparison.Ordinal) ? "Alto:Cluster:SiloPort"
            : null;
        return [.. ports.Where(p => (orleans is null || p.Setting == orleans) && !CanBind(p.Port))];
    }

    private static bool CanBind(int port)
    {
        try
        {
            using var probe = new TcpListenerProbe(port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Binds a port for a moment, to see whether another program holds it.</summary>
    private sealed class TcpListenerProbe : IDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener;

        public TcpListenerProbe(int port)
        {
            _listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            _listener.Start();
        }

        public void Dispose() => _listener.Stop();
    }

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            yield return current;
            if (current is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Chain))
                {
                    yield return inner;
                }
            }
        }
    }

    private static string DescribeDatabase(DatabaseOptions options)
    {
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        return $"{builder.Host}:{builder.Port}/{builder.Database}";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database schema migrated from version {From} to {To}: {Applied}")]
    private static partial void LogMigrated(ILogger logger, int from, int to, string applied);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Invalid configuration: {Failures}")]
    private static partial void LogBadConfiguration(ILogger logger, string failures);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Cannot reach PostgreSQL at {Database}: {Reason}")]
    private static partial void LogDatabaseUnreachable(ILogger logger, string database, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Cannot listen: {Ports} is already in use by another program; stop it, or set another port")]
    private static partial void LogPortInUse(ILogger logger, string ports);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Refusing to start: {Reason}")]
    private static partial void LogSchemaMismatch(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Start-up failed ({Kind}): {Reason}")]
    private static partial void LogFailed(ILogger logger, string kind, string reason);
}

/// <summary>A port this process listens on and the setting that names it, so a start-up that fails because another program holds it can say which.</summary>
public sealed record ListeningPort(string Setting, int Port);
