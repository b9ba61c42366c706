using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Alto.TestSupport;

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

    /// <summary>
    /// A user's creation, password, account and sessions change only with the audit entry that says
    /// so, in one transaction: when the audit log will not take it (<see cref="AuditLogRefusal"/>)
    /// the request is answered 503 and nothing changed. Before, a changed password was answered
    /// "nothing was changed", the old one no longer signed in, and no entry said why.
    /// </summary>
    [Fact]
    public async Task AUserChangesOnlyWithItsAuditEntry()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var username = "audited-" + Guid.NewGuid().ToString("N")[..8];
        var body = new { username, password = GatewayFixture.UserPassword, role = "support", tenantIds = new[] { fixture.TenantA } };
        await using (await AuditLogRefusal.StartAsync(fixture.Database, $"NEW.action = 'user.created' AND NEW.details->'after'->>'username' = '{username}'"))
        {
            await (await admin.PostAsJsonAsync("/api/v1/users", body)).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.app_user WHERE username = '{username}'"));
        var userId = (await (await admin.PostAsJsonAsync("/api/v1/users", body)).AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var token = await fixture.LoginAsync(username, GatewayFixture.UserPassword);
        using var user = fixture.ClientFor(null);
        user.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var state = $"SELECT disabled::text || '/' || session_version || '/' || password_hash FROM alto.app_user WHERE id = '{userId}'";
        var before = await fixture.Database.ScalarAsync<string>(state);

        await using (await AuditLogRefusal.StartAsync(fixture.Database, $"NEW.object_id = '{userId}'"))
        {
            await (await user.PostAsJsonAsync("/api/v1/auth/password", new { currentPassword = GatewayFixture.UserPassword, newPassword = "second-Jr4w-fig-2" }))
                .AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            await (await admin.PatchAsJsonAsync($"/api/v1/users/{userId}", new { disabled = true })).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            await (await admin.PostAsync(new Uri($"/api/v1/users/{userId}/revoke-sessions", UriKind.Relative), null)).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            await (await admin.PostAsync(new Uri($"/api/v1/users/{userId}/unlock", UriKind.Relative), null)).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }

        Assert.Equal(before, await fixture.Database.ScalarAsync<string>(state));
        Assert.Equal(HttpStatusCode.OK, await MeAsync(token));
        Assert.NotEmpty(await fixture.LoginAsync(username, GatewayFixture.UserPassword));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE object_id = '{userId}' AND action LIKE 'user.%'"));
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
