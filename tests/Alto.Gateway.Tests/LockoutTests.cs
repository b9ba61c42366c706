using System.Net;
using System.Net.Http.Json;

namespace Alto.Gateway.Tests;

/// <summary>
/// Five wrong passwords in a row lock the account for the address they came from (even against
/// the right one) until the lockout runs out (15 minutes, twice that the next time in a row: the
/// sign-in clock is moved past them); the same account signs in from any other address, and an
/// admin can unlock it at once.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class LockoutTests(GatewayFixture fixture)
{
    private async Task<(string Username, Guid Id)> UserAsync(string role = "viewer")
    {
        using var admin = fixture.ClientFor("platform-admin");
        var username = "lock-" + Guid.NewGuid().ToString("N")[..10];
        var created = await (await admin.PostAsJsonAsync("/api/v1/users", new { username, password = GatewayFixture.UserPassword, role, tenantIds = role == "platform-admin" ? Array.Empty<Guid>() : new[] { fixture.TenantA } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        return (username, created.GetProperty("id").GetGuid());
    }

    private HttpClient From(string address)
    {
        var client = fixture.ClientFor(null);
        client.DefaultRequestHeaders.Add(LoopbackClientAddress.Header, address);
        return client;
    }

    private static Task<HttpResponseMessage> SignInAsync(HttpClient client, string username, string password) =>
        client.PostAsJsonAsync("/api/v1/auth/login", new { username, password });

    [Fact]
    public async Task FiveWrongPasswordsLockTheAccountForThatAddressUntilTheLockoutRunsOutAndTwiceAsLongTheNextTime()
    {
        var (username, _) = await UserAsync();
        using var admin = fixture.ClientFor("platform-admin");
        using var client = From("198.51.100.7");

        // Four wrong ones and a right one: the count starts again.
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(client, username, "wrong-password-" + i)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(client, username, GatewayFixture.UserPassword)).StatusCode);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(client, username, "wrong-password-" + i)).StatusCode);
        }
        var locked = await (await SignInAsync(client, username, GatewayFixture.UserPassword)).AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("locked", locked.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var trail = await (await admin.GetAsync(new Uri($"/api/v1/audit?actor=user:{username}&action=auth", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        var actions = trail.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Single(actions, action => action == "auth.locked_out");
        Assert.Equal("account locked for this address", trail.GetProperty("items")[0].GetProperty("details").GetProperty("reason").GetString());

        var lockedUntil = trail.GetProperty("items").EnumerateArray().Single(e => e.GetProperty("action").GetString() == "auth.locked_out")
            .GetProperty("details").GetProperty("lockedUntil").GetDateTimeOffset();
        Assert.InRange(lockedUntil - fixture.SignInClock.GetUtcNow(), TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15));
        fixture.SignInClock.Advance(TimeSpan.FromMinutes(14));
        Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(client, username, GatewayFixture.UserPassword)).StatusCode);

        // The guesser keeps at it once the lockout ran out: the next lockout lasts twice as long.
        fixture.SignInClock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(5));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(client, username, "wrong-again-" + i)).StatusCode);
        }
        fixture.SignInClock.Advance(TimeSpan.FromMinutes(29));
        Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(client, username, GatewayFixture.UserPassword)).StatusCode);
        fixture.SignInClock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(5));
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(client, username, GatewayFixture.UserPassword)).StatusCode);
    }

    [Fact]
    public async Task AGuesserCannotLockAnAdminOutFromElsewhereAndAnAdminUnlocksAtOnce()
    {
        var (victim, victimId) = await UserAsync("platform-admin");
        using var attacker = From("203.0.113.66");
        using var office = From("192.0.2.10");

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(attacker, victim, "guess-" + i)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(attacker, victim, GatewayFixture.UserPassword)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(office, victim, GatewayFixture.UserPassword)).StatusCode);
        // The office's success leaves the attacker's address locked.
        Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(attacker, victim, GatewayFixture.UserPassword)).StatusCode);

        using var admin = fixture.ClientFor("platform-admin");
        var unlocked = await (await admin.PostAsync(new Uri($"/api/v1/users/{victimId}/unlock", UriKind.Relative), null)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(1, unlocked.GetProperty("lockedAddresses").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(attacker, victim, GatewayFixture.UserPassword)).StatusCode);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'user.unlocked' AND object_id = '{victimId}'"));
        using var viewer = fixture.ClientFor("viewer");
        await (await viewer.PostAsync(new Uri($"/api/v1/users/{victimId}/unlock", UriKind.Relative), null)).AssertProblemAsync(HttpStatusCode.Forbidden);
    }
}
