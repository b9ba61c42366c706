using Alto.Silo.Health;
using Alto.Silo.Options;

namespace Alto.Silo.Extensions;

public static class SiloHostExtensions
{
    /// <summary>The standalone silo process: Orleans, telemetry, health and its own small HTTP endpoint.</summary>
    public static WebApplicationBuilder AddAltoSiloHost(this WebApplicationBuilder builder)
    {
        // A mistyped setting is refused before anything is built on the default it would leave in force.
        Startup.KnownSettings.ForSilo().Check(builder.Configuration);
        builder.Services.AddOptions<SiloHttpOptions>()
            .BindConfiguration(SiloHttpOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var http = builder.Configuration.GetSection(SiloHttpOptions.Section).Get<SiloHttpOptions>() ?? new SiloHttpOptions();
        var metrics = builder.Configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>() ?? new MetricsOptions();
        builder.WebHost.UseUrls(metrics.Url is { } metricsUrl ? [http.HttpUrl, metricsUrl] : [http.HttpUrl]);
        builder.Services.AddSingleton(new Startup.ListeningPort("Alto:Silo:HttpUrl", Startup.SettingException.Url("Alto:Silo:HttpUrl", http.HttpUrl).Port));
        if (metrics.Url is { } url)
        {
            builder.Services.AddSingleton(new Startup.ListeningPort("Alto:Metrics:Url", Startup.SettingException.Url("Alto:Metrics:Url", url).Port));
        }

        // Under systemd (alto-silo.service, Type=notify) the silo says when it is ready and logs to the journal; elsewhere this does nothing.
        builder.Services.AddSystemd();
        builder.AddAltoTelemetry("alto-silo");
        builder.Services.AddAltoHealthChecks();
        builder.Services.AddAltoSchemaMigration();
        builder.UseOrleans(silo => silo.AddAltoSilo());
        return builder;
    }

    /// <summary>
    /// Health (anonymous, status only) and /metrics (its own listener or the scrape token). The
    /// dashboard is the gateway's, behind a platform admin's sign-in: a silo has no users to ask.
    /// </summary>
    public static WebApplication MapAltoSiloEndpoints(this WebApplication app)
    {
        app.UseMetricsGuard();
        app.MapAltoHealthEndpoints();
        app.MapPrometheusScrapingEndpoint();
        return app;
    }
}
