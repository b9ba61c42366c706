using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Alto.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class AuthTests(GatewayFixture fixture)
{
    [Fact]
    public async Task TheFirstPlatformAdminSignsInWithTheConfiguredPassword()
    {
        using var client = fixture.CreateClient();
        var login = await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = GatewayFixture.AdminPassword });
        var body = await login.AssertJsonAsync(HttpStatusCode.OK);

        Assert.Equal("Bearer", body.GetProperty("tokenType").GetString());
        Assert.Equal("platform-admin", body.GetProperty("user").GetProperty("role").GetString());
        Assert.False(body.GetProperty("user").TryGetProperty("passwordHash", out _));

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.GetProperty("accessToken").GetString());
        var me = await (await client.GetAsync(new Uri("/api/v1/auth/me", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("admin", me.GetProperty("username").GetString());
    }

    [Theory]
    [InlineData("admin", "wrong-password-123")]
    [InlineData("nobody-at-all", "whatever-password")]
    [InlineData("ADMIN", "wrong-password-123")]
    public async Task AWrongPasswordOrUnknownUserIsUnauthorized(string username, string password)
    {
        using var client = fixture.CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { username, password });
        var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        // The same words for both, so the answer does not tell which user names exist.
        Assert.Equal("wrong user name or password, or the account is disabled or locked", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ALoginWithoutFieldsIsABadRequest()
    {
        using var client = fixture.CreateClient();
        var problem = await (await client.PostAsJsonAsync("/api/v1/auth/login", new { })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("username", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("password", out _));
    }

    [Theory]
    [InlineData("GET", "/api/v1/tenants")]
    [InlineData("POST", "/api/v1/tenants")]
    [InlineData("GET", "/api/v1/users")]
    [InlineData("GET", "/api/v1/auth/me")]
    public async Task EveryApiEndpointNeedsAToken(string method, string path)
    {
        using var client = fixture.CreateClient();
        var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = JsonContent.Create(new { name = "x" }) });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ATamperedTokenIsRefused()
    {
        var token = fixture.Tokens["viewer"];
        var parts = token.Split('.');
        // Claim to be a platform admin without the key: the signature no longer matches.
        var payload = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(Pad(parts[1].Replace('-', '+').Replace('_', '/'))))
            .Replace("\"viewer\"", "\"platform-admin\"", StringComparison.Ordinal);
        var forged = $"{parts[0]}.{Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(payload)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}.{parts[2]}";
        using var client = fixture.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", forged);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(new Uri("/api/v1/tenants", UriKind.Relative))).StatusCode);
    }

    [Theory]
    [InlineData("/healthz", HttpStatusCode.OK)]
    [InlineData("/readyz", HttpStatusCode.OK)]
    [InlineData("/openapi/v1.json", HttpStatusCode.Unauthorized)]
    [InlineData("/api-reference/", HttpStatusCode.Unauthorized)]
    [InlineData("/dashboard/", HttpStatusCode.Unauthorized)]
    [InlineData("/metrics", HttpStatusCode.Unauthorized)]
    public async Task OnlyHealthAnswersWithoutAToken(string path, HttpStatusCode status)
    {
        using var client = fixture.CreateClient();
        Assert.Equal(status, (await client.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
    }

    [Theory]
    [InlineData("platform-admin", "/dashboard/", HttpStatusCode.OK)]
    [InlineData("tenant-admin", "/dashboard/", HttpStatusCode.Forbidden)]
    [InlineData("viewer", "/openapi/v1.json", HttpStatusCode.OK)]
    [InlineData("platform-admin", "/metrics", HttpStatusCode.OK)]
    [InlineData("tenant-admin", "/metrics", HttpStatusCode.Unauthorized)]
    [InlineData("agent", "/openapi/v1.json", HttpStatusCode.Unauthorized)]
    public async Task OperatorPagesAnswerTheRolesTheyAreFor(string role, string path, HttpStatusCode status)
    {
        using var client = role == "agent" ? fixture.ClientFor(null) : fixture.ClientFor(role);
        if (role == "agent")
        {
            var host = await PlannedHost.CreateAsync(fixture, ("/lucid/a.bin", 0));
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.Credential);
        }
        Assert.Equal(status, (await client.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task ReadinessGivesItsReasonsToAPlatformAdminOnly()
    {
        using var anonymous = fixture.CreateClient();
        using var admin = fixture.ClientFor("platform-admin");

        var bare = await (await anonymous.GetAsync(new Uri("/readyz", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        var detailed = await (await admin.GetAsync(new Uri("/readyz", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);

        Assert.False(bare.TryGetProperty("checks", out _));
        Assert.True(detailed.GetProperty("checks").TryGetProperty("database", out _));
    }

    [Fact]
    public async Task AChangedPasswordEndsEveryOtherSessionAndTheOldPassword()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var username = "changer-" + Guid.NewGuid().ToString("N")[..8];
        await (await admin.PostAsJsonAsync("/api/v1/users", new { username, password = "first-Vx9q-plum-1", role = "viewer", tenantIds = new[] { fixture.TenantA } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        using var user = fixture.CreateClient();
        user.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await fixture.LoginAsync(username, "first-Vx9q-plum-1"));
        // A second session, as a stolen token would be.
        using var stolen = fixture.CreateClient();
        stolen.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await fixture.LoginAsync(username, "first-Vx9q-plum-1"));

        var wrong = await user.PostAsJsonAsync("/api/v1/auth/password", new { currentPassword = "not-it-at-all", newPassword = "second-Jr4w-fig-2" });
        await wrong.AssertProblemAsync(HttpStatusCode.BadRequest);
        var tooShort = await user.PostAsJsonAsync("/api/v1/auth/password", new { currentPassword = "first-Vx9q-plum-1", newPassword = "short" });
        await tooShort.AssertProblemAsync(HttpStatusCode.BadRequest);
        var changed = await (await user.PostAsJsonAsync("/api/v1/auth/password", new { currentPassword = "first-Vx9q-plum-1", newPassword = "second-Jr4w-fig-2" }))
            .AssertJsonAsync(HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.Unauthorized, (await stolen.GetAsync(new Uri("/api/v1/auth/me", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.GetAsync(new Uri("/api/v1/auth/me", UriKind.Relative))).StatusCode);
        user.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", changed.GetProperty("accessToken").GetString());
        Assert.Equal(HttpStatusCode.OK, (await user.GetAsync(new Uri("/api/v1/auth/me", UriKind.Relative))).StatusCode);
        using var anonymous = fixture.CreateClient();
        var old = await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username, password = "first-Vx9q-plum-1" });
        Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        Assert.NotEmpty(await fixture.LoginAsync(username, "second-Jr4w-fig-2"));
    }

    [Theory]
    [InlineData("password1234", "most common passwords")]
    [InlineData("qwertyuiop12", "most common passwords")]
    [InlineData("aaaaaaaaaaaaaaaa", "too easy to guess")]
    [InlineData("Summer2026!!", "most common passwords")]
    [InlineData("abcdefghijklmn", "too easy to guess")]
    public async Task CommonAndGuessablePasswordsAreRefusedWithTheReason(string password, string reason)
    {
        using var admin = fixture.ClientFor("platform-admin");

        var problem = await (await admin.PostAsJsonAsync("/api/v1/users",
            new { username = "weak-" + Guid.NewGuid().ToString("N")[..8], password, role = "viewer", tenantIds = new[] { fixture.TenantA } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains(reason, problem.GetProperty("errors").GetProperty("password")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GuessesAtTheCurrentPasswordCountTowardTheLockoutAndAreAudited()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var username = "guessed-" + Guid.NewGuid().ToString("N")[..8];
        await (await admin.PostAsJsonAsync("/api/v1/users", new { username, password = GatewayFixture.UserPassword, role = "viewer", tenantIds = new[] { fixture.TenantA } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        using var stolen = fixture.CreateClient();
        stolen.DefaultRequestHeaders.Add(LoopbackClientAddress.Header, "203.0.113.9");
        stolen.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await fixture.LoginAsync(username, GatewayFixture.UserPassword));

        for (var i = 0; i < 5; i++)
        {
            await (await stolen.PostAsJsonAsync("/api/v1/auth/password", new { currentPassword = "guess-" + i, newPassword = "second-Jr4w-fig-2" }))
                .AssertProblemAsync(HttpStatusCode.BadRequest);
        }
        // Locked for that address now: even the right current password does not change it.
        await (await stolen.PostAsJsonAsync("/api/v1/auth/password", new { currentPassword = GatewayFixture.UserPassword, newPassword = "second-Jr4w-fig-2" }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(6, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'auth.password_change_failed' AND actor = 'user:{username}'"));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'auth.locked_out' AND actor = 'user:{username}'"));
        Assert.NotEmpty(await fixture.LoginAsync(username, GatewayFixture.UserPassword));
    }

    [Fact]
    public async Task ADisabledTenantsUsersAndAgentsAreRefusedUntilItIsEnabledAgain()
    {
        var host = await PlannedHost.CreateAsync(fixture, ("/lucid/a.bin", 0));
        using var admin = fixture.ClientFor("platform-admin");
        var username = "tenant-user-" + Guid.NewGuid().ToString("N")[..8];
        await (await admin.PostAsJsonAsync("/api/v1/users", new { username, password = GatewayFixture.UserPassword, role = "tenant-admin", tenantIds = new[] { host.TenantId } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        using var user = fixture.CreateClient();
        user.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await fixture.LoginAsync(username, GatewayFixture.UserPassword));
        using var agent = host.AgentClient(fixture);
        Assert.Equal(HttpStatusCode.OK, (await user.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/hosts", UriKind.Relative))).StatusCode);

        (await admin.PostAsync(new Uri($"/api/v1/tenants/{host.TenantId}/disable", UriKind.Relative), null)).EnsureSuccessStatusCode();

        Assert.Equal(HttpStatusCode.Unauthorized, (await user.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/hosts", UriKind.Relative))).StatusCode);
        using var anonymous = fixture.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username, password = GatewayFixture.UserPassword })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await agent.GetAsync(new Uri("/api/v1/agents/me", UriKind.Relative))).StatusCode);

        (await admin.PostAsync(new Uri($"/api/v1/tenants/{host.TenantId}/enable", UriKind.Relative), null)).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.OK, (await user.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/hosts", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync(new Uri("/api/v1/agents/me", UriKind.Relative))).StatusCode);
    }

    private static string Pad(string base64) => base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
}
