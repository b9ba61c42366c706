using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Alto.Silo.Extensions;

public static class TelemetryExtensions
{
    /// <summary>Name of Alto's own meter and activity source; later stages add instruments to it.</summary>
    public const string AltoTelemetryName = GrainInterfaces.Common.AltoMeter.Name;

    /// <summary>Console logs one line per message, with the time.</summary>
    public static ILoggingBuilder AddAltoConsole(this ILoggingBuilder logging) => logging.AddSimpleConsole(console =>
    {
        console.SingleLine = true;
        console.TimestampFormat = "HH:mm:ss ";
    });

    /// <summary>
    /// Traces, metrics and logs through OpenTelemetry. Metrics are always scraped at /metrics
    /// (Prometheus); traces and logs are exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    /// </summary>
    public static WebApplicationBuilder AddAltoTelemetry(this WebApplicationBuilder builder, string serviceName)
    {
        builder.Logging.AddAltoConsole();
        // A failed start is reported once, in one line, by AltoStartup; the host's own report is a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter("Microsoft.Orleans")
                .AddMeter("Npgsql")
                // Npgsql labels its series with the pool's name (for Orleans' own connections, the
                // connection string: host, database, user) and the server's address: kept out of /metrics.
                .AddView(instrument => instrument.Meter.Name == "Npgsql"
                    ? new MetricStreamConfiguration { TagKeys = ["db.client.connection.state", "db.system.name", "error.type"] }
                    : null)
                .AddMeter(AltoTelemetryName)
                .AddPrometheusExporter())
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation()
                .AddSource("Microsoft.Orleans.Runtime")
                .AddSource("Microsoft.Orleans.Application")
                .AddSource(AltoTelemetryName)
                .AddNpgsql());

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.UseOtlpExporter();
        }
        return builder;
    }
}
