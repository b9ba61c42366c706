using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Alto.TestSupport;

namespace Alto.Gateway.Tests;

/// <summary>Request size limits and security headers, on the real gateway process (the in-memory test server enforces no body limit).</summary>
public sealed class HardeningProcessTests(HardeningProcessTests.LimitedGateway fixture) : IClassFixture<HardeningProcessTests.LimitedGateway>
{
    private static readonly HttpClient Http = new();
    private readonly GatewayProcess _gateway = fixture.Gateway;

    /// <summary>One gateway process for the class, with a 1 MiB limit on request bodies.</summary>
    public sealed class LimitedGateway : IAsyncLifetime
    {
        public GatewayProcess Gateway { get; private set; } = null!;

        public async Task InitializeAsync() =>
            Gateway = await GatewayProcess.StartAsync(await TestDatabase.CreateAsync("hardening"), "hardening-" + Guid.NewGuid().ToString("N")[..8],
                new Dictionary<string, string> { ["Alto__Gateway__MaxRequestBodyBytes"] = (1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture) },
                TimeSpan.FromSeconds(90));

        public async Task DisposeAsync()
        {
            var database = Gateway.Database;
            await Gateway.DisposeAsync();
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task ABodyOverTheLimitIsRefusedWith413ButAScanChunkHasItsOwnLimit()
    {
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_gateway.HttpUrl, "/api/v1/tenants"))
        {
            Content = JsonContent.Create(new { name = "big", description = new string('x', 2 << 20) }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin.AccessToken);

        var response = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, await _gateway.Database.CountAsync("SELECT count(*) FROM alto.tenant WHERE name = 'big'"));

        // A 3 MiB scan chunk is over the API limit but within the scan upload limit: it is read (and refused as bad CSV), not cut off.
        var tenant = await admin.CreateTenantAsync("scans-" + Guid.NewGuid().ToString("N")[..8]);
        var (_, token) = await admin.RegisterHostAsync(tenant, "fs", "/srv");
        var enrolled = await (await Http.PostAsJsonAsync(new Uri(_gateway.HttpUrl, "/api/v1/agents/enroll"), new { token })).Content.ReadFromJsonAsync<JsonElement>();
        using var chunk = new HttpRequestMessage(HttpMethod.Post,
            new Uri(_gateway.HttpUrl, $"/api/v1/scan-results?scanId={Guid.NewGuid()}&chunk=0&format=csv&encoding=none"))
        {
            Content = new ByteArrayContent(new byte[3 << 20]) { Headers = { ContentType = new MediaTypeHeaderValue("text/csv") } },
        };
        chunk.Headers.Authorization = new AuthenticationHeaderValue("Bearer", enrolled.GetProperty("credential").GetString());
        var scan = await Http.SendAsync(chunk);
        Assert.True(scan.StatusCode == HttpStatusCode.BadRequest, $"{(int)scan.StatusCode} {await scan.Content.ReadAsStringAsync()}");
    }

    [Theory]
    [InlineData("/api/v1/auth/me", true)]
    [InlineData("/api/v1/tenants", true)]
    [InlineData("/healthz", true)]
    [InlineData("/api-reference", false)]
    public async Task EveryAnswerCarriesTheSecurityHeaders(string path, bool strictPolicy)
    {
        var response = await Http.GetAsync(new Uri(_gateway.HttpUrl, path));

        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.Equal(strictPolicy, response.Headers.TryGetValues("Content-Security-Policy", out var policy));
        // The API's answers (a tenant's data, or its refusal) are kept in no cache.
        Assert.True(!path.StartsWith("/api/", StringComparison.Ordinal) || response.Headers.CacheControl?.NoStore == true, $"{path} may be kept in a cache");
        if (strictPolicy)
        {
            Assert.Contains("frame-ancestors 'none'", policy!.Single(), StringComparison.Ordinal);
        }
    }
}
