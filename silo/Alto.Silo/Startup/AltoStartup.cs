using System.Net.Sockets;
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

    public static async Task<int> RunAltoAsync(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Alto.Startup");
        var database = "the configured database";
        try
        {
            // Settings first, so a typo is reported as such and not as whatever it breaks later.
            app.Services.GetService<IStartupValidator>()?.Validate();
            database = DescribeDatabase(app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value);
            await app.RunAsync();
            return ExitOk;
        }
        catch (OptionsValidationException exception)
        {
            LogBadConfiguration(logger, string.Join("; ", exception.Failures));
            return ExitBadConfiguration;
        }
        catch (Exception exception) when (IsDatabaseUnreachable(exception))
        {
            LogDatabaseUnreachable(logger, database, exception.GetBaseException().Message);
            return ExitDatabaseUnreachable;
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

    private static string DescribeDatabase(DatabaseOptions options)
    {
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        return $"{builder.Host}:{builder.Port}/{builder.Database}";
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Invalid configuration: {Failures}")]
    private static partial void LogBadConfiguration(ILogger logger, string failures);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Cannot reach PostgreSQL at {Database}: {Reason}")]
    private static partial void LogDatabaseUnreachable(ILogger logger, string database, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Refusing to start: {Reason}")]
    private static partial void LogSchemaMismatch(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Start-up failed ({Kind}): {Reason}")]
    private static partial void LogFailed(ILogger logger, string kind, string reason);
}
