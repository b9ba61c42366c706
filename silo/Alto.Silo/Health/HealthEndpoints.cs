using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace Alto.Silo.Health;

public static class HealthEndpoints
{
    public const string ReadyTag = "ready";

    public static IServiceCollection AddAltoHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: [ReadyTag])
            .AddCheck<ClusterHealthCheck>("cluster", tags: [ReadyTag]);
        return services;
    }

    /// <summary>
    /// /healthz: the process is alive (no dependency checked). /readyz: database and cluster
    /// reachable. Both anonymous, so they say only the status; each check's reason (which may name
    /// the database's host) goes to callers <paramref name="mayReadDetail"/> admits (none by default).
    /// </summary>
    public static IEndpointRouteBuilder MapAltoHealthEndpoints(this IEndpointRouteBuilder endpoints, Func<HttpContext, bool>? mayReadDetail = null)
    {
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = (http, report) => HealthResponseWriter.WriteJsonAsync(http, report, mayReadDetail?.Invoke(http) == true),
        }).AllowAnonymous();
        return endpoints;
    }
}
