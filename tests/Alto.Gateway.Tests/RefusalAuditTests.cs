using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Alto.Gateway.Auth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Alto.Gateway.Tests;

/// <summary>
/// Refused attempts leave a trace: forged and expired tokens, a bad host credential, a replayed
/// enrollment token, a role that may not, another tenant's ids and a refused key unwrap are each
/// audited with the caller's address and why — at most twenty a minute per address.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class RefusalAuditTests(GatewayFixture fixture)
{
    private HttpClient From(string address, string? bearer = null)
    {
        var client = fixture.ClientFor(null);
        client.DefaultRequestHeaders.Add(LoopbackClientAddress.Header, address);
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        return client;
    }

    private static string NewAddress() => $"198.18.{Random.Shared.Next(0, 255)}.{Random.Shared.Next(1, 255)}";

    private Task<long> RefusalsAsync(string address, string action, string like) => fixture.Database.CountAsync(
        $"SELECT count(*) FROM alto.audit_log WHERE action = '{action}' AND outcome = 'failure' AND origin = '{address}' AND details::text LIKE '%{like}%'");

    [Fact]
    public async Task ForgedAndExpiredTokensAndBadHostCredentialsAreAuditedWithTheReason()
    {
        var address = NewAddress();
        var key = fixture.Services.GetRequiredService<SigningKeyStore>().Key;
        var expired = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "alto", Audience = "alto-api", IssuedAt = DateTime.UtcNow.AddHours(-3), NotBefore = DateTime.UtcNow.AddHours(-3), Expires = DateTime.UtcNow.AddHours(-2),
            Claims = new Dictionary<string, object> { ["sub"] = Guid.NewGuid().ToString(), ["role"] = "platform-admin", ["alto_sv"] = "0" },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
        var forged = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "alto", Audience = "alto-api", Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["sub"] = Guid.NewGuid().ToString(), ["role"] = "platform-admin", ["alto_sv"] = "0" },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(new byte[64]), SecurityAlgorithms.HmacSha256),
        });

        foreach (var token in new[] { expired, forged, "alto_host_" + Guid.NewGuid().ToString("N") + "_" + new string('y', 43) })
        {
            using var client = From(address, token);
            var path = token.StartsWith("alto_host_", StringComparison.Ordinal) ? "/api/v1/agents/me" : "/api/v1/tenants";
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
        }

        Assert.Equal(1, await RefusalsAsync(address, "access.refused", "the token expired"));
        Assert.Equal(1, await RefusalsAsync(address, "access.refused", "signature is not valid"));
        Assert.Equal(1, await RefusalsAsync(address, "access.refused", "host credential"));
    }

    [Fact]
    public async Task AReplayedEnrollmentTokenARoleThatMayNotAndAnotherTenantsIdsAreAudited()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var registered = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts", new { name = "replay-" + Guid.NewGuid().ToString("N")[..8] }))
            .AssertJsonAsync(HttpStatusCode.Created);
        var token = registered.GetProperty("enrollmentToken").GetString();
        var address = NewAddress();
        using var anonymous = From(address);
        var enrolled = await (await anonymous.PostAsJsonAsync("/api/v1/agents/enroll", new { token })).AssertJsonAsync(HttpStatusCode.OK);
        // The agent uses its credential: the token is spent, and a second redemption is a replay.
        using (var agent = From(address, enrolled.GetProperty("credential").GetString()))
        {
            (await agent.GetAsync(new Uri("/api/v1/agents/me", UriKind.Relative))).EnsureSuccessStatusCode();
        }
        await (await anonymous.PostAsJsonAsync("/api/v1/agents/enroll", new { token })).AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var viewer = From(address, fixture.Tokens["viewer"]);

        await (await viewer.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts", new { name = "nope" })).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await viewer.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantB}/hosts", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);

        Assert.Equal(1, await RefusalsAsync(address, "access.refused", "enrollment for host"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'access.refused' AND origin = '{address}' AND details->>'status' = '403' AND tenant_id = '{fixture.TenantA}'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'access.refused' AND origin = '{address}' AND details->>'status' = '404' AND tenant_id IS NULL"));
    }

    /// <summary>A forged key of the right shape, and texts too short to be a key at all (these once crashed the keyring's parser: a 500).</summary>
    [Theory]
    [InlineData("forged")]
    [InlineData("abc")]
    [InlineData("alto")]
    public async Task AnUnwrapOfAKeyThatIsNotTheTenantsIsRefusedAndAudited(string wrapped)
    {
        var host = await PlannedHost.CreateAsync(fixture, ("/lucid/a.bin", 0));
        using var agent = From(NewAddress(), host.Credential);

        var refused = await agent.PostAsJsonAsync("/api/v1/agents/data-keys/unwrap",
            new { wrapped = wrapped == "forged" ? "alto:v1:" + Convert.ToBase64String(new byte[60]) : wrapped });

        await refused.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'agent.unwrap_refused' AND host_id = '{host.HostId}' AND tenant_id = '{host.TenantId}' AND outcome = 'failure'"));
    }

    [Fact]
    public async Task AFloodOfRefusalsFromOneAddressWritesAtMostTwentyEntriesAMinute()
    {
        var address = NewAddress();
        using var anonymous = From(address);
        var before = DateTime.UtcNow;

        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/api/v1/tenants", UriKind.Relative))).StatusCode);
        }

        var written = await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'access.refused' AND origin = '{address}'");
        // Twenty a minute: thirty within one minute leave twenty, across a minute's turn at most forty.
        Assert.InRange(written, RefusalAudit.PerSourcePerMinute, DateTime.UtcNow.Minute == before.Minute ? RefusalAudit.PerSourcePerMinute : 2 * RefusalAudit.PerSourcePerMinute);
    }
}
