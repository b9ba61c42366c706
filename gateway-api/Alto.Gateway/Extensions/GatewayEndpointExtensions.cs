using Alto.Gateway.Apis;
using Alto.Silo.Health;
using Orleans.Dashboard;
using Scalar.AspNetCore;

namespace Alto.Gateway.Extensions;

public static class GatewayEndpointExtensions
{
    public static WebApplication MapAltoGateway(this WebApplication app)
    {
        app.Use(SecurityHeaders.ApplyAsync);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.Use(Auth.GatewayAudit.NameTheCallerAsync);
        app.UseAuthorization();
        app.UseRateLimiter();

        var api = app.MapGroup("/api/v1");
        api.MapAuthApi();
        api.MapTenantsApi();
        api.MapHostsApi();
        api.MapStorageTargetsApi();
        api.MapRulesApi();
        api.MapPlansApi();
        api.MapTieringApi();
        api.MapApprovalsApi();
        api.MapAuditApi();
        api.MapUsersApi();
        api.MapAgentsApi();
        api.MapScanResultsApi();
        api.MapAuditUpdatesApi();

        // Operator and documentation endpoints carry no tenant data and are reached without a
        // token; expose them only where operators are (see README, "Security").
        app.MapAltoHealthEndpoints();
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.MapScalarApiReference("/api-reference", options => options
            .WithTitle("Alto API reference")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json")).AllowAnonymous();
        app.MapPrometheusScrapingEndpoint().AllowAnonymous();
        app.MapOrleansDashboard(routePrefix: "/dashboard").AllowAnonymous();
        app.MapGrpcHealthChecksService().AllowAnonymous();
        // Agents authenticate inside the call with their host credential (see AgentSessionService).
        app.MapGrpcService<Grpc.AgentSessionService>().AllowAnonymous();
        return app;
    }
}
