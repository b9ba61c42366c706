using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Alto.Gateway.Tests;

/// <summary>Signing a user out everywhere and disabling an account take effect on tokens already issued.</summary>
[Collection(GatewayCollection.Name)]
public sealed class UserSessionTests(GatewayFixture fixture)
{
    private async Task<HttpStatusCode> MeAsync(string token)
    {
        using var client = fixture.ClientFor(null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return (await client.GetAsync(new Uri("/api/v1/auth/me", UriKind.Relative))).StatusCode;
    }

    [Fact]
    public async Task RevokedSessionsAndDisabledAccountsStopTheirTokensAtOnce()
    {
        using var tenantAdmin = fixture.ClientFor("tenant-admin");
        var username = "sess-" + Guid.NewGuid().ToString("N")[..10];
        var user = await (await tenantAdmin.PostAsJsonAsync("/api/v1/users", new { username, password = GatewayFixture.UserPassword, role = "support", tenantIds = new[] { fixture.TenantA } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        var userPath = $"/api/v1/users/{user.GetProperty("id").GetGuid()}";
        var first = await fixture.LoginAsync(username, GatewayFixture.UserPassword);
        Assert.Equal(HttpStatusCode.OK, await MeAsync(first));

        Assert.Equal(HttpStatusCode.NoContent, (await tenantAdmin.PostAsync(new Uri($"{userPath}/revoke-sessions", UriKind.Relative), null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(first));
        var second = await fixture.LoginAsync(username, GatewayFixture.UserPassword);
        Assert.Equal(HttpStatusCode.OK, await MeAsync(second));

        var disabled = await (await tenantAdmin.PatchAsJsonAsync(userPath, new { disabled = true })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.True(disabled.GetProperty("disabled").GetBoolean());
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(second));
        using var anonymous = fixture.ClientFor(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username, password = GatewayFixture.UserPassword })).StatusCode);

        (await tenantAdmin.PatchAsJsonAsync(userPath, new { disabled = false })).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.OK, await MeAsync(await fixture.LoginAsync(username, GatewayFixture.UserPassword)));

        var trail = await (await fixture.ClientFor("platform-admin").GetAsync(new Uri($"/api/v1/audit?action=user&pageSize=50", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        var mine = trail.GetProperty("items").EnumerateArray().Where(e => e.GetProperty("objectId").GetString() == user.GetProperty("id").GetString())
            .Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Equal(["user.enabled", "user.disabled", "user.sessions_revoked", "user.created"], mine);
    }

    [Fact]
    public async Task ATenantAdminManagesOnlyUsersOfItsOwnTenantsAndNotItself()
    {
        using var platform = fixture.ClientFor("platform-admin");
        var elsewhere = await (await platform.PostAsJsonAsync("/api/v1/users",
            new { username = "b-" + Guid.NewGuid().ToString("N")[..10], password = GatewayFixture.UserPassword, role = "viewer", tenantIds = new[] { fixture.TenantB } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        using var tenantAdmin = fixture.ClientFor("tenant-admin");

        await (await tenantAdmin.PatchAsJsonAsync($"/api/v1/users/{elsewhere.GetProperty("id").GetGuid()}", new { disabled = true }))
            .AssertProblemAsync(HttpStatusCode.NotFound);
        var me = await (await tenantAdmin.GetAsync(new Uri("/api/v1/auth/me", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        await (await tenantAdmin.PatchAsJsonAsync($"/api/v1/users/{me.GetProperty("id").GetGuid()}", new { disabled = true }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await tenantAdmin.PatchAsJsonAsync($"/api/v1/users/{me.GetProperty("id").GetGuid()}", new { }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
    }
}
