using System.Net;
using System.Net.Http.Json;

namespace Alto.Gateway.Tests;

/// <summary>Five wrong passwords in a row lock the account (even against the right one) until the lockout runs out (three seconds here).</summary>
[Collection(GatewayCollection.Name)]
public sealed class LockoutTests(GatewayFixture fixture)
{
    [Fact]
    public async Task FiveWrongPasswordsLockTheAccountUntilTheLockoutRunsOut()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var username = "lock-" + Guid.NewGuid().ToString("N")[..10];
        (await admin.PostAsJsonAsync("/api/v1/users", new { username, password = GatewayFixture.UserPassword, role = "viewer", tenantIds = new[] { fixture.TenantA } }))
            .EnsureSuccessStatusCode();
        using var anonymous = fixture.ClientFor(null);
        Task<HttpResponseMessage> SignInAsync(string password) => anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username, password });

        // Four wrong ones and a right one: the count starts again.
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync("wrong-password-" + i)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(GatewayFixture.UserPassword)).StatusCode);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync("wrong-password-" + i)).StatusCode);
        }
        var locked = await (await SignInAsync(GatewayFixture.UserPassword)).AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("locked", locked.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var trail = await (await admin.GetAsync(new Uri($"/api/v1/audit?actor=user:{username}&action=auth", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        var actions = trail.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Single(actions, action => action == "auth.locked_out");
        Assert.Equal("account locked", trail.GetProperty("items")[0].GetProperty("details").GetProperty("reason").GetString());

        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(GatewayFixture.UserPassword)).StatusCode);
    }
}
