using Alto.Silo.Startup;
using System.Net;
using System.Threading.RateLimiting;
using System.Text.Json;
using System.Text.Json.Serialization;
using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.Options;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Scans;
using Alto.Keys;
using Alto.Silo.ClusterSecurity;
using Alto.Silo.Extensions;
using Alto.Silo.Health;
using Alto.Silo.Options;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;

namespace Alto.Gateway.Extensions;

public static class GatewayBuilderExtensions
{
    /// <summary>
    /// Everything the gateway process needs: options, two listening endpoints (HTTP/1.1 and h2c),
    /// telemetry, sign-in, problem details, OpenAPI, gRPC, and Orleans — a co-hosted silo by
    /// default, or a client of a separate cluster when Alto:Gateway:CoHostSilo is false.
    /// </summary>
    public static WebApplicationBuilder AddAltoGateway(this WebApplicationBuilder builder)
    {
        // A mistyped setting is refused before anything is built on the default it would leave in force.
        KnownSettings.ForGateway(typeof(AltoGatewayOptions).Assembly).Check(builder.Configuration);
        var services = builder.Services;
        // Under systemd (alto-gateway.service, Type=notify) the gateway says when it is ready; elsewhere this does nothing.
        services.AddSystemd();
        services.AddOptions<AltoGatewayOptions>().BindConfiguration(AltoGatewayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(provider => new ListeningPort("Alto:Gateway:HttpUrl", new Uri(provider.GetRequiredService<IOptions<AltoGatewayOptions>>().Value.HttpUrl).Port));
        services.AddSingleton(provider => new ListeningPort("Alto:Gateway:GrpcUrl", new Uri(provider.GetRequiredService<IOptions<AltoGatewayOptions>>().Value.GrpcUrl).Port));
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<HostRegistrationOptions>().BindConfiguration(HostRegistrationOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var gateway = builder.Configuration.GetSection(AltoGatewayOptions.Section).Get<AltoGatewayOptions>() ?? new AltoGatewayOptions();
        var metrics = builder.Configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>() ?? new MetricsOptions();
        if (metrics.Url is { } metricsUrl)
        {
            services.AddSingleton(new ListeningPort("Alto:Metrics:Url", SettingException.Url("Alto:Metrics:Url", metricsUrl).Port));
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = gateway.MaxRequestBodyBytes;
            Listen(kestrel, "Alto:Gateway:HttpUrl", gateway.HttpUrl, HttpProtocols.Http1);
            Listen(kestrel, "Alto:Gateway:GrpcUrl", gateway.GrpcUrl, HttpProtocols.Http2);
            if (metrics.Url is { } url)
            {
                Listen(kestrel, "Alto:Metrics:Url", url, HttpProtocols.Http1);
            }
        });

        builder.AddAltoTelemetry("alto-gateway");
        services.AddAltoHealthChecks();
        // Migrations and the sign-in bootstrap run before Orleans starts (hosted services start in order).
        services.AddAltoSchemaMigration();
        services.AddSingleton(TimeProvider.System);
        // The sign-in token key is sealed with the installation's keys, whether or not a silo runs here.
        services.AddAltoKeys();
        services.AddSingleton<SigningKeyStore>();
        services.AddSingleton<UserStore>();
        services.AddSingleton<PasswordHashing>();
        services.AddSingleton<PasswordSignIn>();
        services.AddSingleton<OperatorSignIns>();
        services.AddSingleton<RefusalAudit>();
        services.AddSingleton<TokenIssuer>();
        services.AddHostedService<AuthBootstrapService>();
        services.AddSingleton<TenantReadModel>();
        services.AddSingleton<RecoveryKitReadModel>();
        services.AddSingleton<HostReadModel>();
        services.AddSingleton<StorageTargetReadModel>();
        services.AddSingleton<TieringReadModel>();
        services.AddSingleton<CapacityReadModel>();
        services.AddSingleton<ActivityReadModel>();
        services.AddSingleton<SavingsReadModel>();
        services.AddSingleton<InventoryReadModel>();
        services.AddSingleton<ReconcileReadModel>();
        services.AddSingleton<StubRecordReadModel>();
        services.AddSingleton<Apis.StubCheckMetrics>();
        services.AddSingleton<Grpc.AgentHeartbeatGauges>();
        services.AddSingleton<Grpc.MomentaryCallFailures>();
        // The handler that counts 503s is made by the exception-handling middleware; resolving the handlers makes it at start too.
        Grains.Fleet.MetricFamilyServiceCollectionExtensions.AddMetricFamilies(services, typeof(RefusalAudit), typeof(Apis.StubCheckMetrics), typeof(Grpc.AgentHeartbeatGauges),
            typeof(Grpc.MomentaryCallFailures), typeof(IEnumerable<Microsoft.AspNetCore.Diagnostics.IExceptionHandler>));
        services.AddSingleton<AuditReadModel>();
        services.AddSingleton<Auth.GatewayAudit>();
        services.AddSingleton<ScanStaging>();
        services.AddSingleton<TrailStaging>();
        services.AddSingleton<UploadGate>();
        services.AddOptions<ScanUploadOptions>().BindConfiguration(ScanUploadOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer()
            .AddScheme<AuthenticationSchemeOptions, HostCredentialAuthentication>(HostCredentialAuthentication.SchemeName, _ => { })
            .AddScheme<AuthenticationSchemeOptions, OperatorAuthentication>(OperatorAuthentication.SchemeName, _ => { });
        services.AddSingleton<IConfigureOptions<JwtBearerOptions>, JwtBearerConfiguration>();
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(HostCredentialAuthentication.Policy, policy => policy
                .AddAuthenticationSchemes(HostCredentialAuthentication.SchemeName)
                .RequireClaim(HostCredentialAuthentication.HostClaim))
            .AddPolicy(OperatorAuthentication.DashboardPolicy, policy => policy
                .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme, OperatorAuthentication.SchemeName)
                .RequireRole(Roles.PlatformAdmin))
            .AddPolicy(OperatorAuthentication.DocumentationPolicy, policy => policy
                .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme, OperatorAuthentication.SchemeName)
                .RequireClaim(AltoClaims.Role));

        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            // Guessing passwords costs time: a fixed budget of sign-in attempts per client address.
            limiter.AddPolicy(LoginRateLimit.Policy, context =>
            {
                var attempts = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.LoginAttemptsPerMinute;
                return RateLimitPartition.GetFixedWindowLimiter(
                    context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = attempts, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
            });
            // A plan run (a dry run too, which a viewer may start) evaluates every file of the tenant: a budget per tenant, whoever asks.
            limiter.AddPolicy(PlanRateLimit.Policy, context =>
            {
                var runs = context.RequestServices.GetRequiredService<IOptions<AltoGatewayOptions>>().Value.PlanRunsPerMinute;
                // A caller who cannot see the tenant (answered 404) spends a budget of their own, never the tenant's.
                var tenant = Guid.TryParse(context.GetRouteValue("tenantId")?.ToString(), out var id) ? id : Guid.Empty;
                var caller = Caller.From(context.User);
                return RateLimitPartition.GetFixedWindowLimiter(
                    caller.CanSee(tenant) ? $"tenant:{tenant}" : $"outsider:{caller.UserId}",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = runs, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
            });
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var http = rejected.HttpContext;
                var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1);
                http.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails = { Status = StatusCodes.Status429TooManyRequests, Title = "Too many requests", Detail = $"too many requests of this kind; try again in {Math.Ceiling(wait.TotalSeconds)} s" },
                });
            };
        });
        services.AddProblemDetails();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddExceptionHandler<UnavailableExceptionHandler>();
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(json =>
        {
            // Unknown fields are a mistake by the caller (a typo in a field name), not something to ignore.
            json.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            // A field given twice is refused, not "the last one wins": a proxy or log that reads the first would see another request.
            json.SerializerOptions.AllowDuplicateProperties = false;
            json.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        });
        services.AddOpenApi(options => options.AddDocumentTransformer<BearerSecurityTransformer>().AddDocumentTransformer<ApiDocumentTransformer>());
        services.AddOptions<AgentSessionOptions>().BindConfiguration(AgentSessionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var agents = builder.Configuration.GetSection(AgentSessionOptions.Section).Get<AgentSessionOptions>() ?? new AgentSessionOptions();
        // An oversize message ends its stream with ResourceExhausted before it is parsed.
        services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = agents.MaxMessageBytes);
        // The gRPC health service reports the same checks as /readyz.
        services.AddGrpcHealthChecks();

        // Live events for the console: a hub fed from the cluster's stream (see Live/).
        services.AddSignalR();
        services.TryAddSingleton<Grains.Live.LivePublisher>();
        services.AddHostedService<Live.LiveEventRelay>();

        if (gateway.CoHostSilo)
        {
            builder.UseOrleans(silo => silo.AddAltoSilo());
        }
        else
        {
            var clusterCertificate = services.AddAltoClusterCertificate(builder.Configuration);
            builder.UseOrleansClient(client => client.AddAltoClusterClient(clusterCertificate));
        }
        return builder;
    }

    /// <summary>An Orleans client of the cluster named by Alto:Cluster, found through the membership table.</summary>
    private static IClientBuilder AddAltoClusterClient(this IClientBuilder client, ClusterCertificate? clusterCertificate)
    {
        client.Services.AddOptions<AltoClusterOptions>()
            .BindConfiguration(AltoClusterOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        client.Services.AddOptions<ClusterOptions>().Configure<IOptions<AltoClusterOptions>>((cluster, alto) =>
        {
            cluster.ClusterId = alto.Value.ClusterId;
            cluster.ServiceId = alto.Value.ServiceId;
        });
        client.Services.AddOptions<ClientMessagingOptions>().Configure<IOptions<AltoClusterOptions>>((messaging, alto) =>
            messaging.ResponseTimeout = TimeSpan.FromSeconds(alto.Value.CallTimeoutSeconds));
        client.Services.AddAltoDatabase();
        client.UseAdoNetClustering((OptionsBuilder<AdoNetClusteringClientOptions> options) =>
            options.Configure<IOptions<DatabaseOptions>>((clustering, db) =>
            {
                clustering.Invariant = DatabaseOptions.NpgsqlInvariant;
                clustering.ConnectionString = db.Value.ConnectionString;
            }));
        client.UseAltoClusterTls(clusterCertificate);
        client.AddDashboard();
        client.AddMemoryStreams(GrainInterfaces.Scans.StreamNames.Provider);
        return client;
    }

    private static void Listen(KestrelServerOptions kestrel, string setting, string url, HttpProtocols protocols)
    {
        var uri = SettingException.Url(setting, url);
        Action<ListenOptions> configure = listen => listen.Protocols = protocols;
        switch (uri.Host)
        {
            case "localhost":
                kestrel.ListenLocalhost(uri.Port, configure);
                break;
            case "0.0.0.0" or "*" or "+" or "[::]":
                kestrel.ListenAnyIP(uri.Port, configure);
                break;
            default:
                kestrel.Listen(IPAddress.Parse(uri.Host), uri.Port, configure);
                break;
        }
    }
}
