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
        app.Use(PortScope.KeepToItsPortAsync);
        app.UseExceptionHandler();
        // The web console's files are public (they hold no data; every call they make is signed in).
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseStatusCodePages();
        app.Use(Auth.RefusalAudit.AuditRefusalsAsync);
        app.UseAuthentication();
        // /metrics: on its own listener, with the scrape token, or for a signed-in platform admin.
        app.UseMetricsGuard(http => http.User.IsInRole(Auth.Roles.PlatformAdmin));
        app.Use(Auth.GatewayAudit.NameTheCallerAsync);
        app.Use(Errors.RoutingRefusals.AnswerBeforeAuthorizationAsync);
        app.UseAuthorization();
        app.UseRateLimiter();

        var api = app.MapGroup("/api/v1");
        api.AddEndpointFilterFactory(Validation.KnownQueryParameters.RefuseOthers);
        api.AddEndpointFilterFactory(Validation.UnreadBodies.RefuseWhereNoneIsRead);
        api.AddEndpointFilterFactory(Validation.Preconditions.RefuseWhereNotTaken);
        api.MapAuthApi();
        api.MapTenantsApi();
        api.MapHostsApi();
        api.MapStorageTargetsApi();
        api.MapRulesApi();
        api.MapPlansApi();
        api.MapTieringApi();
        api.MapAnalyticsApi();
        api.MapSavingsApi();
        api.MapInventoryApi();
        api.MapApprovalsApi();
        api.MapAuditApi();
        api.MapUsersApi();
        api.MapAgentsApi();
        api.MapScanResultsApi();
        api.MapTrailUpdatesApi();
        api.MapReconcileApi();
        api.MapRecoveryKitApi();

        // Only health (no detail) and sign-in are anonymous (README, "Security"). Pages a browser
        // opens directly take a Basic sign-in as well as a bearer token: the API reference any
        // user's, the dashboard (every tenant's grains, the gateway's live log) a platform admin's.
        app.MapAltoHealthEndpoints(http => http.User.IsInRole(Auth.Roles.PlatformAdmin));
        app.MapOpenApi("/openapi/{documentName}.json").RequireAuthorization(Auth.OperatorAuthentication.DocumentationPolicy);
        app.MapScalarApiReference("/api-reference", options => options
            .WithTitle("Alto API reference")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json")).RequireAuthorization(Auth.OperatorAuthentication.DocumentationPolicy);
        app.MapPrometheusScrapingEndpoint().AllowAnonymous();
        app.MapOrleansDashboard(routePrefix: "/dashboard").RequireAuthorization(Auth.OperatorAuthentication.DashboardPolicy);
        // The console's own routes, opened directly or reloaded: its page, which signs in by itself.
        app.MapGet("/sign-in", ConsolePage).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/tenants/{**path}", ConsolePage).AllowAnonymous().ExcludeFromDescription();
        // Live events: any signed-in user (the hub sorts them into their tenants' groups); closed when the token expires.
        app.MapHub<Live.LiveHub>(Live.LiveHub.Path, options => options.CloseOnAuthenticationExpiration = true);
        app.MapGrpcHealthChecksService().AllowAnonymous();
        // Agents authenticate inside the call with their host credential (see AgentSessionService).
        app.MapGrpcService<Grpc.AgentSessionService>().AllowAnonymous();
        return app;
    }

    /// <summary>The console's index.html, or 404 when the console was not built.</summary>
    private static IResult ConsolePage(IWebHostEnvironment environment) =>
        environment.WebRootFileProvider.GetFileInfo("index.html") is { Exists: true, PhysicalPath: { } path }
            ? Results.File(path, "text/html; charset=utf-8")
            : Results.NotFound();
}
