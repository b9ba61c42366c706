using Alto.Silo.Health;
using Alto.Silo.Options;
using Orleans.Dashboard;

namespace Alto.Silo.Extensions;

public static class SiloHostExtensions
{
    /// <summary>The standalone silo process: Orleans, telemetry, health and its own small HTTP endpoint.</summary>
    public static WebApplicationBuilder AddAltoSiloHost(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SiloHttpOptions>()
            .BindConfiguration(SiloHttpOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        var http = builder.Configuration.GetSection(SiloHttpOptions.Section).Get<SiloHttpOptions>() ?? new SiloHttpOptions();
        builder.WebHost.UseUrls(http.HttpUrl);
        builder.Services.AddSingleton(new Startup.ListeningPort("Alto:Silo:HttpUrl", new Uri(http.HttpUrl).Port));

        builder.AddAltoTelemetry("alto-silo");
        builder.Services.AddAltoHealthChecks();
        builder.Services.AddAltoSchemaMigration();
        builder.UseOrleans(silo => silo.AddAltoSilo());
        return builder;
    }

    public static WebApplication MapAltoSiloEndpoints(this WebApplication app)
    {
        app.MapAltoHealthEndpoints();
        app.MapPrometheusScrapingEndpoint();
        app.MapOrleansDashboard(routePrefix: "/dashboard");
        return app;
    }
}
