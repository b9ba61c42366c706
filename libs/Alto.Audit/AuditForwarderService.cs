using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Alto.Audit;

/// <summary>
/// Runs the configured forwarder in exactly one process of the installation: the one holding a
/// PostgreSQL session lock named after the forwarder. If that process dies its connection goes,
/// the lock with it, and another silo takes over from the saved cursors.
/// </summary>
public sealed partial class AuditForwarderService(
    NpgsqlDataSource db, IOptions<AuditForwardOptions> options, IHttpClientFactory http, AuditForwardGauge gauge, ILogger<AuditForwarderService> logger)
    : BackgroundService
{
    private const int LockNamespace = 1096041584;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(stoppingToken);
                await using (var take = new NpgsqlCommand("SELECT pg_try_advisory_lock($1, hashtext($2))", connection))
                {
                    take.Parameters.Add(new NpgsqlParameter<int> { TypedValue = LockNamespace });
                    take.Parameters.Add(new NpgsqlParameter<string> { TypedValue = settings.Name });
                    if (await take.ExecuteScalarAsync(stoppingToken) is true)
                    {
                        LogForwarding(logger, settings.Name, settings.Kind);
                        await new AuditForwarder(db, CreateSink(settings), settings, logger, gauge).RunAsync(stoppingToken);
                        return;
                    }
                }
            }
            catch (NpgsqlException exception)
            {
                LogDatabaseUnavailable(logger, exception);
            }
            try
            {
                await Task.Delay(settings.MaxBackoff, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private IAuditSink CreateSink(AuditForwardOptions settings)
    {
        if (settings.Kind == "http")
        {
            return new HttpAuditSink(http.CreateClient(nameof(AuditForwarderService)), new Uri(settings.Url!), settings.Authorization);
        }
        if (!AuditForwardOptions.TrySplitAddress(settings.Address, out var host, out var port))
        {
            throw new InvalidOperationException("Alto:Audit:Forward:Address is not host:port");
        }
        var tls = settings.Tls ? new AuditTls(settings.CaFile, settings.ServerName) : null;
        return settings.Kind == "relp" ? new RelpAuditSink(host, port, tls) : new SyslogAuditSink(host, port, tls);
    }

    public static IServiceCollection AddAuditForwarding(IServiceCollection services)
    {
        services.AddOptions<AuditForwardOptions>().BindConfiguration(AuditForwardOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuditForwardOptions>, AuditForwardOptionsValidation>();
        services.AddHttpClient(nameof(AuditForwarderService), client => client.Timeout = TimeSpan.FromSeconds(30));
        services.AddMetrics();
        services.AddSingleton<AuditForwardGauge>();
        services.AddHostedService<AuditForwarderService>();
        return services;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "This process forwards the audit trail ({Name}, {Kind})")]
    private static partial void LogForwarding(ILogger logger, string name, string kind);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit forwarding waits for the database")]
    private static partial void LogDatabaseUnavailable(ILogger logger, Exception exception);
}
