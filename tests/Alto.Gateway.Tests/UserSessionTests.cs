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
        var state = $"""
            SELECT disabled::text || '/' || session_version || '/' || password_hash || '/' || role
                   || '/' || (SELECT string_agg(tenant_id::text, ',' ORDER BY tenant_id) FROM alto.app_user_tenant WHERE user_id = u.id)
            FROM alto.app_user u WHERE id = '{userId}'
            """;
        var before = await fixture.Database.ScalarAsync<string>(state);

        await using (await AuditLogRefusal.StartAsync(fixture.Database, $"NEW.object_id = '{userId}'"))
        {
            await (await user.PostAsJsonAsync("/api/v1/auth/password", new { currentPassword = GatewayFixture.UserPassword, newPassword = "second-Jr4w-fig-2" }))
                .AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            await (await admin.PatchAsJsonAsync($"/api/v1/users/{userId}", new { disabled = true })).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            await (await admin.PatchAsJsonAsync($"/api/v1/users/{userId}", new { role = "tenant-admin", tenantIds = new[] { fixture.TenantA, fixture.TenantB } }))
                .AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            await (await admin.PostAsJsonAsync($"/api/v1/users/{userId}/password", new { password = "reset-Jr4w-fig-3" })).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
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

    /// <summary>
    /// An admin changes another user's role and tenants and sets its password, within what it may
    /// hand out. A new role ends the user's sessions (a token carries its role); new tenants reach
    /// its tokens at once (they are read again on every call). A tenant admin gives no tenant but
    /// its own and no platform admin's role, and changes nothing of its own. Before, a user's role
    /// and tenants were fixed at creation and a forgotten password had only the break-glass command.
    /// </summary>
    [Fact]
    public async Task AnAdminChangesAUsersRoleAndTenantsAndSetsItsPassword()
    {
        using var platform = fixture.ClientFor("platform-admin");
        using var tenantAdmin = fixture.ClientFor("tenant-admin");
        var username = "grant-" + Guid.NewGuid().ToString("N")[..10];
        var userId = (await (await tenantAdmin.PostAsJsonAsync("/api/v1/users", new { username, password = GatewayFixture.UserPassword, role = "viewer", tenantIds = new[] { fixture.TenantA } }))
            .AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var userPath = $"/api/v1/users/{userId}";
        var viewerToken = await fixture.LoginAsync(username, GatewayFixture.UserPassword);
        // Where its creation's Location points: the user, to the admins who see it.
        var seen = await (await tenantAdmin.GetAsync(new Uri(userPath, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((username, true), (seen.GetProperty("username").GetString(), seen.GetProperty("manageable").GetBoolean()));
        await (await fixture.ClientFor("support").GetAsync(new Uri(userPath, UriKind.Relative))).AssertProblemAsync(HttpStatusCode.Forbidden);

        var support = await (await tenantAdmin.PatchAsJsonAsync(userPath, new { role = "support" })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("support", support.GetProperty("role").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(viewerToken));
        var supportToken = await fixture.LoginAsync(username, GatewayFixture.UserPassword);
        Assert.Equal(HttpStatusCode.OK, await MeAsync(supportToken));

        var unchanged = $"SELECT role || '/' || session_version || '/' || (SELECT string_agg(tenant_id::text, ',') FROM alto.app_user_tenant WHERE user_id = u.id) FROM alto.app_user u WHERE id = '{userId}'";
        var before = await fixture.Database.ScalarAsync<string>(unchanged);
        Assert.Contains($"tenant {fixture.TenantB} not found",
            (await (await tenantAdmin.PatchAsJsonAsync(userPath, new { tenantIds = new[] { fixture.TenantA, fixture.TenantB } })).AssertProblemAsync(HttpStatusCode.BadRequest)).GetRawText(),
            StringComparison.Ordinal);
        await (await tenantAdmin.PatchAsJsonAsync(userPath, new { role = "platform-admin" })).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await tenantAdmin.PatchAsJsonAsync(userPath, new { tenantIds = Array.Empty<Guid>() })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await platform.PatchAsJsonAsync(userPath, new { tenantIds = new[] { Guid.NewGuid() } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        var me = (await (await tenantAdmin.GetAsync(new Uri("/api/v1/auth/me", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("id").GetGuid();
        await (await tenantAdmin.PatchAsJsonAsync($"/api/v1/users/{me}", new { role = "viewer" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await tenantAdmin.PostAsJsonAsync($"/api/v1/users/{me}/password", new { password = "reset-Jr4w-fig-4" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(before, await fixture.Database.ScalarAsync<string>(unchanged));

        using var user = fixture.ClientFor(null);
        user.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", supportToken);
        await (await user.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantB}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        (await platform.PatchAsJsonAsync(userPath, new { tenantIds = new[] { fixture.TenantA, fixture.TenantB } })).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.OK, (await user.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantB}", UriKind.Relative))).StatusCode);
        // The user now has a tenant the tenant admin does not: it is out of that admin's reach (though it still sees it, as its list does, saying so).
        Assert.False((await (await tenantAdmin.GetAsync(new Uri(userPath, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("manageable").GetBoolean());
        Assert.True((await (await platform.GetAsync(new Uri(userPath, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("manageable").GetBoolean());
        var listed = (await (await tenantAdmin.GetAsync(new Uri("/api/v1/users?pageSize=200", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("items")
            .EnumerateArray().ToDictionary(item => item.GetProperty("id").GetGuid(), item => item.GetProperty("manageable").GetBoolean());
        Assert.False(listed[userId]);
        Assert.Contains(true, listed.Values);
        await (await tenantAdmin.PatchAsJsonAsync(userPath, new { role = "viewer" })).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await tenantAdmin.PostAsJsonAsync($"{userPath}/password", new { password = "reset-Jr4w-fig-4" })).AssertProblemAsync(HttpStatusCode.NotFound);

        var raised = await (await platform.PatchAsJsonAsync(userPath, new { role = "platform-admin" })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Empty(raised.GetProperty("tenantIds").EnumerateArray());
        await (await tenantAdmin.GetAsync(new Uri(userPath, UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        // A browser's Basic sign-in is remembered for seconds; it holds only while the account's session does.
        using var browser = fixture.ClientFor(null);
        browser.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{username}:{GatewayFixture.UserPassword}")));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri("/dashboard/", UriKind.Relative))).StatusCode);
        // Disabled through another gateway, which changes only the database: the sign-in remembered here no longer holds either.
        await fixture.Database.ExecuteAsync($"UPDATE alto.app_user SET disabled = true, session_version = session_version + 1 WHERE id = '{userId}'");
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync(new Uri("/dashboard/", UriKind.Relative))).StatusCode);
        await fixture.Database.ExecuteAsync($"UPDATE alto.app_user SET disabled = false WHERE id = '{userId}'");
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri("/dashboard/", UriKind.Relative))).StatusCode);
        Assert.Contains("give at least one tenant",
            (await (await platform.PatchAsJsonAsync(userPath, new { role = "viewer" })).AssertProblemAsync(HttpStatusCode.BadRequest)).GetRawText(), StringComparison.Ordinal);
        (await platform.PatchAsJsonAsync(userPath, new { role = "viewer", tenantIds = new[] { fixture.TenantA } })).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.GetAsync(new Uri("/dashboard/", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative))).StatusCode);

        var current = await fixture.LoginAsync(username, GatewayFixture.UserPassword);
        using var anonymous = fixture.ClientFor(null);
        var wrong = await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username, password = "not-the-password-1" });
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.sign_in_failure WHERE user_id = '{userId}'"));
        Assert.Contains("password is refused",
            (await (await tenantAdmin.PostAsJsonAsync($"{userPath}/password", new { password = "password1234" })).AssertProblemAsync(HttpStatusCode.BadRequest)).GetRawText(),
            StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await tenantAdmin.PostAsJsonAsync($"{userPath}/password", new { password = "reset-Jr4w-fig-4" })).StatusCode);
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.sign_in_failure WHERE user_id = '{userId}'"));
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(current));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username, password = GatewayFixture.UserPassword })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, await MeAsync(await fixture.LoginAsync(username, "reset-Jr4w-fig-4")));

        var trail = await (await platform.GetAsync(new Uri("/api/v1/audit?action=user&pageSize=50", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        var mine = trail.GetProperty("items").EnumerateArray().Where(e => e.GetProperty("objectId").GetString() == userId.ToString()).ToList();
        Assert.Equal(["user.password_reset", "user.updated", "user.updated", "user.updated", "user.updated", "user.created"],
            mine.Select(e => e.GetProperty("action").GetString()));
        Assert.DoesNotContain("reset-Jr4w", mine[0].GetRawText(), StringComparison.Ordinal);
        var first = mine[^2].GetProperty("details");
        Assert.Equal("viewer -> support", $"{first.GetProperty("before").GetProperty("role").GetString()} -> {first.GetProperty("after").GetProperty("role").GetString()}");
    }
}
