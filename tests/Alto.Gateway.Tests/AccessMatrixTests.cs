using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Alto.Gateway.Auth;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Alto.Gateway.Tests;

/// <summary>
/// The RBAC matrix: every endpoint in the app's own endpoint list, called by no token, each
/// role, an agent's host credential, and (inside a tenant) for a tenant the caller does not
/// see, checked against the access the endpoint declares. A new endpoint is covered the moment
/// it is mapped; one that declares no access fails this test. Runs on tenants of its own, as
/// platform admins disable and enable them here.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed partial class AccessMatrixTests(GatewayFixture fixture)
{
    /// <summary>
    /// Operator and documentation endpoints outside /api/v1 (health anonymous; the others behind a
    /// sign-in, see AuthTests and OperatorEndpointsProcessTests); the agent's gRPC service (it
    /// checks the host credential itself), gRPC's answer to unknown services, and the live hub
    /// (any signed-in user, its events sorted by tenant and role; see LiveEventsProcessTests), and the
    /// web console's page on its own routes (public, it holds no data; see ConsoleTests).
    /// </summary>
    private static readonly string[] OperatorPrefixes =
        ["/healthz", "/readyz", "/metrics", "/dashboard", "/openapi/", "/api-reference", "/alto.agent.v1.", "/grpc.health.v1.", "/{unimplementedService}/", "/hubs/live", "/sign-in", "/tenants/"];

    private static readonly string[] Callers = ["anonymous", "platform-admin", "tenant-admin", "support", "viewer", "agent"];

    private sealed record Tenant(Guid Id, Guid HostId, Guid TargetId, Guid RuleId, Guid RunId, Guid JobId);

    [Fact]
    public async Task EveryEndpointAnswersEveryKindOfCallerAsItDeclares()
    {
        var endpoints = fixture.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        var undeclared = endpoints
            .Where(e => IsApi(e) && e.Metadata.GetMetadata<AccessPolicy>() is null)
            .Select(e => $"{Methods(e).FirstOrDefault()} {e.RoutePattern.RawText}")
            .ToList();
        Assert.True(undeclared.Count == 0, "endpoints without a declared access: " + string.Join(", ", undeclared));
        var unknown = endpoints.Where(e => !IsApi(e) && !OperatorPrefixes.Any(p => Route(e).StartsWith(p, StringComparison.Ordinal))).Select(Route).ToList();
        Assert.True(unknown.Count == 0, "endpoints outside /api/v1 that are not operator endpoints: " + string.Join(", ", unknown));

        using var admin = fixture.ClientFor("platform-admin");
        var own = await TenantAsync(admin, "matrix-own");
        var other = await TenantAsync(admin, "matrix-other");
        var tokens = await TokensAsync(admin, own);
        // Users the matrix may disable and sign out: not one of its callers.
        var userId = await UserAsync(admin, "viewer", own.Id);

        var failures = new List<string>();
        var calls = 0;
        foreach (var endpoint in endpoints.Where(IsApi).OrderBy(Route))
        {
            var access = endpoint.Metadata.GetMetadata<AccessPolicy>()!.Access;
            foreach (var method in Methods(endpoint))
            {
                var scopes = Route(endpoint).Contains("{tenantId", StringComparison.Ordinal)
                             || access == Access.Agent && (Route(endpoint).Contains("scan-results", StringComparison.Ordinal) || Route(endpoint).Contains("{runId", StringComparison.Ordinal))
                    ? new[] { false, true }
                    : [false];
                foreach (var caller in Callers)
                {
                    foreach (var otherTenant in scopes)
                    {
                        var tenant = otherTenant ? other : own;
                        var path = await PathAsync(admin, endpoint, method, tenant, userId);
                        using var request = new HttpRequestMessage(new HttpMethod(method), path);
                        if (method is "POST" or "PUT" or "PATCH")
                        {
                            request.Content = JsonContent.Create(new { });
                        }
                        if (tokens.GetValueOrDefault(caller) is { } token)
                        {
                            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                        }
                        using var client = fixture.ClientFor(null);
                        var response = await client.SendAsync(request);
                        calls++;
                        var status = (int)response.StatusCode;
                        if (path.EndsWith("/disable", StringComparison.Ordinal) && response.IsSuccessStatusCode)
                        {
                            // A disabled tenant refuses its users and agents: the next callers must meet it enabled.
                            (await admin.PostAsync(new Uri(path[..^"disable".Length] + "enable", UriKind.Relative), null)).EnsureSuccessStatusCode();
                        }
                        var expected = Expected(access, caller, otherTenant);
                        if (status >= 500 || !expected.Accepts(status))
                        {
                            failures.Add($"{caller} {method} {path} ({access}{(otherTenant ? ", other tenant" : "")}): expected {expected}, got {status} {await BriefAsync(response)}");
                        }
                    }
                }
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {calls} calls answered otherwise than declared:\n" + string.Join("\n", failures));
        Assert.True(calls > 200, $"only {calls} calls were made");
    }

    /// <summary>What a caller must get: an exact refusal, or "allowed" (anything but 401, 403, 404).</summary>
    private sealed record Outcome(string Name, params int[] Statuses)
    {
        public static readonly Outcome Allowed = new("allowed");
        public static readonly Outcome Unauthorized = new("401", 401);
        public static readonly Outcome Forbidden = new("403", 403);
        public static readonly Outcome NotFound = new("404", 404);
        public static readonly Outcome Refused = new("refused (401, 403 or 404)", 401, 403, 404);

        public bool Accepts(int status) => Statuses.Length == 0 ? status is not (401 or 403 or 404) : Statuses.Contains(status);

        public override string ToString() => Name;
    }

    private static Outcome Expected(Access access, string caller, bool otherTenant)
    {
        if (access == Access.Anonymous)
        {
            return Outcome.Allowed;
        }
        if (caller == "anonymous")
        {
            return Outcome.Unauthorized;
        }
        if (access == Access.Agent || caller == "agent")
        {
            // Agents reach the agent endpoints of their own host, and nothing else.
            return access == Access.Agent && caller == "agent" && !otherTenant ? Outcome.Allowed : Outcome.Refused;
        }
        var platform = caller == "platform-admin";
        if (otherTenant && !platform)
        {
            return Outcome.NotFound;
        }
        var allowed = access switch
        {
            Access.SignedIn or Access.TenantRead => true,
            Access.PlatformAdmin => platform,
            Access.UserAdmin or Access.TenantManage => platform || caller == "tenant-admin",
            Access.TenantSupport => caller != "viewer",
            _ => throw new ArgumentOutOfRangeException(nameof(access), access, null),
        };
        return allowed ? Outcome.Allowed : Outcome.Forbidden;
    }

    private static async Task<string> PathAsync(HttpClient admin, RouteEndpoint endpoint, string method, Tenant tenant, Guid userId)
    {
        var route = Route(endpoint);
        // A deleted rule would be gone for the next caller: each DELETE gets a rule of its own.
        var ruleId = method == "DELETE" && route.Contains("{ruleId", StringComparison.Ordinal) ? await RuleAsync(admin, tenant.Id) : tenant.RuleId;
        var path = Parameter().Replace(route, match => match.Groups[1].Value switch
        {
            "tenantId" => tenant.Id.ToString(),
            "hostId" => tenant.HostId.ToString(),
            "targetId" => tenant.TargetId.ToString(),
            "ruleId" => ruleId.ToString(),
            "userId" => userId.ToString(),
            "runId" => tenant.RunId.ToString(),
            "jobId" => tenant.JobId.ToString(),
            var name => throw new InvalidOperationException($"the matrix has no value for route parameter {name} of {route}"),
        });
        // The agent's scan uploads name its host and tenant in the query: the credential must agree.
        var owner = $"hostId={tenant.HostId}&tenantId={tenant.Id}";
        return route switch
        {
            "/api/v1/scan-results" => $"{path}?scanId={Guid.NewGuid()}&chunk=0&format=csv&encoding=none&{owner}",
            "/api/v1/scan-results/unchanged" => $"{path}?scanId={Guid.NewGuid()}&part=0&{owner}",
            "/api/v1/scan-results/last" => $"{path}?{owner}",
            _ => path,
        };
    }

    private async Task<Tenant> TenantAsync(HttpClient admin, string name)
    {
        var id = await GatewayFixture.CreateTenantAsync(admin, $"{name}-{Guid.NewGuid():N}"[..30]);
        var host = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{id}/hosts", new { name = "fs-" + Guid.NewGuid().ToString("N")[..8] }))
            .AssertJsonAsync(HttpStatusCode.Created);
        var target = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{id}/targets",
            new { name = "archive", kind = "path", settings = new { path = $"/mnt/archive/{id:N}" } })).AssertJsonAsync(HttpStatusCode.Created);
        var hostId = host.GetProperty("host").GetProperty("id").GetGuid();
        var targetId = target.GetProperty("id").GetGuid();
        (await admin.PutAsJsonAsync($"/api/v1/tenants/{id}/targets/{targetId}/reconcile-schedule", new { everyHours = 24 })).EnsureSuccessStatusCode();
        // A run listed by the tenant's host, as if it had been started while the host was online.
        // It names the host and the target, so their DELETE is refused (409) for every caller it
        // allows and both stay for the next callers.
        var runId = Guid.NewGuid();
        await fixture.Database.ExecuteAsync($"""
            INSERT INTO alto.reconcile_run (id, tenant_id, target_id, host_id, depth, sample_percent, requests_per_second, status, requested_by, started_at, updated_at)
            VALUES ('{runId}', '{id}', '{targetId}', '{hostId}', 'list', 100, 100, 'listing', 'matrix', now(), now())
            """);
        // A job of the host, as a plan leaves one.
        var jobId = Guid.NewGuid();
        await fixture.Database.ExecuteAsync($"INSERT INTO alto.tiering_job (id, tenant_id, host_id, target_id, status) VALUES ('{jobId}', '{id}', '{hostId}', '{targetId}', 'queued')");
        return new Tenant(id, hostId, targetId, await RuleAsync(admin, id), runId, jobId);
    }

    private static async Task<Guid> RuleAsync(HttpClient admin, Guid tenantId)
    {
        var rule = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/rules",
            new { name = "r-" + Guid.NewGuid().ToString("N")[..8], action = "exclude", criteria = new { minSizeBytes = 1 } })).AssertJsonAsync(HttpStatusCode.Created);
        return rule.GetProperty("id").GetGuid();
    }

    /// <summary>A user per role in the caller's own tenant, and the credential of the tenant's enrolled host.</summary>
    private async Task<Dictionary<string, string>> TokensAsync(HttpClient admin, Tenant own)
    {
        var tokens = new Dictionary<string, string> { ["platform-admin"] = fixture.Tokens["platform-admin"] };
        foreach (var role in new[] { "tenant-admin", "support", "viewer" })
        {
            var userId = await UserAsync(admin, role, own.Id);
            var user = await (await admin.GetAsync(new Uri("/api/v1/users?pageSize=500", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
            var username = user.GetProperty("items").EnumerateArray().Single(u => u.GetProperty("id").GetGuid() == userId).GetProperty("username").GetString()!;
            tokens[role] = await fixture.LoginAsync(username, GatewayFixture.UserPassword);
        }
        var renewed = await (await admin.PostAsync(new Uri($"/api/v1/tenants/{own.Id}/hosts/{own.HostId}/enrollment-token", UriKind.Relative), null))
            .AssertJsonAsync(HttpStatusCode.OK);
        using var anonymous = fixture.ClientFor(null);
        var enrolled = await (await anonymous.PostAsJsonAsync("/api/v1/agents/enroll",
            new { token = renewed.GetProperty("enrollmentToken").GetString() })).AssertJsonAsync(HttpStatusCode.OK);
        tokens["agent"] = enrolled.GetProperty("credential").GetString()!;
        return tokens;
    }

    private static async Task<Guid> UserAsync(HttpClient admin, string role, Guid tenantId)
    {
        var username = $"m-{role}-{Guid.NewGuid():N}"[..30];
        var created = await (await admin.PostAsJsonAsync("/api/v1/users", new { username, password = GatewayFixture.UserPassword, role, tenantIds = new[] { tenantId } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        return created.GetProperty("id").GetGuid();
    }

    private static bool IsApi(RouteEndpoint endpoint) => Route(endpoint).StartsWith("/api/v1/", StringComparison.Ordinal);

    private static string Route(RouteEndpoint endpoint) => "/" + (endpoint.RoutePattern.RawText ?? "").TrimStart('/');

    private static IEnumerable<string> Methods(RouteEndpoint endpoint) =>
        endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"];

    private static async Task<string> BriefAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return JsonDocument.Parse(text).RootElement.TryGetProperty("detail", out var detail) ? detail.ToString() : text[..Math.Min(text.Length, 120)];
        }
        catch (JsonException)
        {
            return text[..Math.Min(text.Length, 120)];
        }
    }

    [GeneratedRegex(@"\{(\w+)(:[^}]*)?\}")]
    private static partial Regex Parameter();
}
