namespace Alto.Silo.Migrations;

/// <summary>
/// Migrates the database when the host starts. Registered before Orleans so that no silo or
/// client touches a table before its migration has run; a failure here stops the start-up.
/// </summary>
public sealed partial class SchemaMigrationService(MigrationRunner runner, ILogger<SchemaMigrationService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var report = await runner.MigrateAsync(cancellationToken);
        LogSchema(logger, report.ToVersion, report.Applied.Count);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Database schema at version {Version} ({Applied} migration(s) applied now)")]
    private static partial void LogSchema(ILogger logger, int version, int applied);
}
