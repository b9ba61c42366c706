using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Alto.TestSupport;

namespace Alto.Gateway.Tests;

/// <summary>
/// An anonymous caller on every port of a real gateway process: only health (status alone) and
/// sign-in answer; the dashboard, the API reference, /metrics and the API want credentials; the
/// agents' h2c port serves gRPC and nothing else; a metrics listener of its own serves /metrics
/// and nothing else; and /metrics names neither the database's host nor its user.
/// </summary>
public sealed class OperatorEndpointsProcessTests
{
    private static readonly string[] OperatorPaths =
        ["/metrics", "/dashboard/", "/dashboard/Trace", "/dashboard/Reminders", "/openapi/v1.json", "/api-reference/", "/api/v1/tenants", "/api/v1/auth/me"];

    [Fact]
    public async Task AnAnonymousCallerGetsOnlyHealthAndSignInOnAnyPort()
    {
        var metricsPort = FreePorts.Next();
        await using var database = await TestDatabase.CreateAsync("operator");
        await using var gateway = await GatewayProcess.StartAsync(database, "operator-" + Guid.NewGuid().ToString("N")[..8],
            new Dictionary<string, string> { ["Alto__Metrics__Url"] = $"http://127.0.0.1:{metricsPort}" }, TimeSpan.FromSeconds(90));
        using var http = new HttpClient();
        using var h2c = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        foreach (var path in OperatorPaths)
        {
            Assert.True(HttpStatusCode.Unauthorized == (await http.GetAsync(new Uri(gateway.HttpUrl, path))).StatusCode, path);
        }
        foreach (var path in OperatorPaths.Concat(["/healthz", "/readyz", "/api/v1/auth/login"]))
        {
            Assert.True(HttpStatusCode.NotFound == (await h2c.GetAsync(new Uri(gateway.GrpcUrl, path))).StatusCode, $"{path} on the gRPC port");
            Assert.True(HttpStatusCode.NotFound == (await http.GetAsync(new Uri($"http://127.0.0.1:{metricsPort}{path}"))).StatusCode || path == "/metrics",
                $"{path} on the metrics port");
        }
        // Health says how it is, not why: the reasons name the database.
        Assert.Equal("{\"status\":\"Healthy\"}", await http.GetStringAsync(new Uri(gateway.HttpUrl, "/readyz")));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(gateway.HttpUrl, "/healthz"))).StatusCode);
        // The Host header is the caller's to write: it does not open the gRPC port's scope.
        using var spoofed = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.HttpUrl, "/metrics"));
        spoofed.Headers.Host = $"127.0.0.1:{gateway.GrpcUrl.Port}";
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(spoofed)).StatusCode);

        var scraped = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
        var withToken = await gateway.MetricsAsync();
        Assert.Contains("orleans_", withToken, StringComparison.Ordinal);
        foreach (var metrics in new[] { scraped, withToken })
        {
            var port = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.DoesNotContain("Username=", metrics, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(database.Name, metrics, StringComparison.Ordinal);
            Assert.DoesNotContain($"server_port=\"{port}\"", metrics, StringComparison.Ordinal);
        }
        using var wrongToken = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.HttpUrl, "/metrics"));
        wrongToken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", GatewayProcess.ScrapeToken + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrongToken)).StatusCode);
    }

    [Fact]
    public async Task TheDashboardIsAPlatformAdminsAndTheApiReferenceAnyUsersWithABrowsersBasicSignIn()
    {
        await using var gateway = await GatewayProcess.StartAsync("operator-pages", TimeSpan.FromSeconds(90));
        using var admin = await AdminApi.SignInAsync(gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenant = await admin.CreateTenantAsync("pages-" + Guid.NewGuid().ToString("N")[..8]);
        var viewerName = $"viewer-{Guid.NewGuid():N}"[..30];
        const string viewerPassword = "a-viewer-password-of-some-length";
        await admin.PostAsync("/api/v1/users", new { username = viewerName, password = viewerPassword, role = "viewer", tenantIds = new[] { tenant } });
        using var http = new HttpClient();

        var challenge = await http.GetAsync(new Uri(gateway.HttpUrl, "/dashboard/"));
        Assert.Contains(challenge.Headers.WwwAuthenticate, header => header.Scheme == "Basic");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, gateway, "/dashboard/", Basic("admin", GatewayProcess.AdminPassword))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, gateway, "/dashboard/", new AuthenticationHeaderValue("Bearer", admin.AccessToken))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(http, gateway, "/dashboard/", Basic(viewerName, viewerPassword))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, gateway, "/openapi/v1.json", Basic(viewerName, viewerPassword))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(http, gateway, "/dashboard/", Basic("admin", "not-the-password"))).StatusCode);
        // Basic is for the pages a browser opens, not for the API.
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(http, gateway, "/api/v1/tenants", Basic("admin", GatewayProcess.AdminPassword))).StatusCode);

        Assert.Equal(1, await gateway.Database.CountAsync(
            "SELECT count(*) FROM alto.audit_log WHERE action = 'auth.sign_in_failed' AND actor = 'user:admin' AND details->>'path' = '/dashboard/'"));
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, GatewayProcess gateway, string path, AuthenticationHeaderValue credential)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.HttpUrl, path));
        request.Headers.Authorization = credential;
        return await http.SendAsync(request);
    }
}
