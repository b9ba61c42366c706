using System.Net;
using System.Net.Http.Json;

namespace Alto.Gateway.Tests;

/// <summary>
/// POST /api/v1/agents/stubs/check, asked by an agent before every recall: the cluster's record
/// vouches for a stub, or contradicts it and the recall is refused (audited), or has no word.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class StubCheckApiTests(GatewayFixture fixture)
{
    private static readonly string Hash = new('a', 64);

    /// <summary>A host whose /lucid/stub.bin is STUBBED as object "obj/1" with <see cref="Hash"/>, and whose /lucid/moving.bin is being tiered.</summary>
    private async Task<PlannedHost> HostAsync()
    {
        var host = await PlannedHost.CreateAsync(fixture, ("/lucid/stub.bin", 90 * 86_400L), ("/lucid/moving.bin", 90 * 86_400L));
        var locator = $"{host.TenantId}/obj/1";
        await fixture.Database.ExecuteAsync($"""
            UPDATE alto.tier_object SET state = 'STUBBED', locator = '{locator}', hash = '{Hash}' WHERE host_id = '{host.HostId}' AND full_path = '/lucid/stub.bin';
            UPDATE alto.tier_object SET state = 'DISPATCHED' WHERE host_id = '{host.HostId}' AND full_path = '/lucid/moving.bin';
            """);
        return host;
    }

    private static object Claim(PlannedHost host, string path, string? locator = null, string? sha256 = null, bool legacy = false, string? bindingProblem = null) =>
        new { path, locator = locator ?? $"{host.TenantId}/obj/1", sha256 = sha256 ?? Hash, legacy, bindingProblem };

    private async Task<HttpResponseMessage> AskAsync(PlannedHost host, object claim)
    {
        using var agent = host.AgentClient(fixture);
        return await agent.PostAsJsonAsync("/api/v1/agents/stubs/check", claim);
    }

    [Fact]
    public async Task TheRecordVouchesForItsStubAtItsPathOrRenamedWhenBoundAndForAFileBeingTiered()
    {
        var host = await HostAsync();

        var atPath = await (await AskAsync(host, Claim(host, "/lucid/stub.bin"))).AssertJsonAsync(HttpStatusCode.OK);
        var renamed = await (await AskAsync(host, Claim(host, "/lucid/renamed.bin"))).AssertJsonAsync(HttpStatusCode.OK);
        var legacyAtPath = await (await AskAsync(host, Claim(host, "/lucid/stub.bin", legacy: true))).AssertJsonAsync(HttpStatusCode.OK);
        var beingTiered = await (await AskAsync(host, Claim(host, "/lucid/moving.bin", locator: $"{host.TenantId}/obj/new"))).AssertJsonAsync(HttpStatusCode.OK);

        Assert.Equal("confirmed", atPath.GetProperty("verdict").GetString());
        Assert.Equal(("confirmed", "/lucid/stub.bin"), (renamed.GetProperty("verdict").GetString(), renamed.GetProperty("recordPath").GetString()));
        Assert.Equal("confirmed", legacyAtPath.GetProperty("verdict").GetString());
        Assert.Equal("confirmed", beingTiered.GetProperty("verdict").GetString());
    }

    [Fact]
    public async Task ALostRecordStillVouchesForItsOwnStubSoARestoredObjectCanBeRecalled()
    {
        var host = await HostAsync();
        await fixture.Database.ExecuteAsync($"UPDATE alto.tier_object SET state = 'LOST' WHERE host_id = '{host.HostId}' AND full_path = '/lucid/stub.bin'");

        var lost = await (await AskAsync(host, Claim(host, "/lucid/stub.bin"))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("confirmed", lost.GetProperty("verdict").GetString());
        await (await AskAsync(host, Claim(host, "/lucid/stub.bin", sha256: new string('b', 64)))).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    public static TheoryData<string, string, string?, string?, bool, string?, string> Contradictions() => new()
    {
        { "copied markers", "/lucid/stub.bin", null, null, false, "made for inode 12, not this file", "made for inode 12" },
        { "another hash", "/lucid/stub.bin", null, new string('b', 64), false, null, "SHA-256 differs" },
        { "a version-1 stub away from its path", "/lucid/elsewhere.bin", null, null, true, null, "version-1" },
        { "a version-1 stub of no record", "/lucid/stub.bin", "nowhere/1", null, true, null, "no record" },
    };

    [Theory]
    [MemberData(nameof(Contradictions))]
    public async Task AStubTheRecordContradictsIsRefusedAndAudited(string because, string path, string? locator, string? sha256, bool legacy, string? bindingProblem, string reason)
    {
        var host = await HostAsync();

        var problem = await (await AskAsync(host, Claim(host, path, locator, sha256, legacy, bindingProblem))).AssertProblemAsync(HttpStatusCode.Forbidden);

        var detail = problem.GetProperty("detail").GetString()!;
        Assert.True(detail.Contains(reason, StringComparison.Ordinal), $"{because}: {detail}");
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'stub.recall_refused' AND outcome = 'failure' AND tenant_id = '{host.TenantId}' AND details->>'path' = '{path}'"));
    }

    [Fact]
    public async Task AnotherHostsObjectIsRefusedAndAnObjectNoRecordNamesIsUnknownAndAudited()
    {
        var host = await HostAsync();
        var other = await HostAsync();

        var foreign = await (await AskAsync(other, Claim(other, "/lucid/stub.bin", locator: $"{host.TenantId}/obj/1"))).AssertProblemAsync(HttpStatusCode.Forbidden);
        var unknown = await (await AskAsync(host, Claim(host, "/lucid/by-hand.bin", locator: "by-hand/1"))).AssertJsonAsync(HttpStatusCode.OK);

        Assert.Contains("another host", foreign.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("unknown", unknown.GetProperty("verdict").GetString());
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'stub.recall_unrecorded' AND tenant_id = '{host.TenantId}' AND details->>'path' = '/lucid/by-hand.bin'"));
    }

    public static TheoryData<string, object> BadClaims() => new()
    {
        { "path", new { locator = "x", sha256 = Hash } },
        { "path", new { path = "lucid/x", locator = "x", sha256 = Hash } },
        { "locator", new { path = "/lucid/x", sha256 = Hash } },
        { "locator", new { path = "/lucid/x", locator = new string('x', 2000), sha256 = Hash } },
        { "sha256", new { path = "/lucid/x", locator = "x", sha256 = "not-a-hash" } },
        { "bindingProblem", new { path = "/lucid/x", locator = "x", sha256 = Hash, bindingProblem = new string('x', 600) } },
    };

    [Theory]
    [MemberData(nameof(BadClaims))]
    public async Task BadClaimsAreRefusedNamingTheField(string field, object claim)
    {
        var host = await HostAsync();

        var problem = await (await AskAsync(host, claim)).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task OnlyAnAgentMayAsk()
    {
        var host = await HostAsync();
        using var anonymous = fixture.ClientFor(null);
        using var admin = fixture.ClientFor("platform-admin");

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/v1/agents/stubs/check", Claim(host, "/lucid/stub.bin"))).StatusCode);
        Assert.Contains((await admin.PostAsJsonAsync("/api/v1/agents/stubs/check", Claim(host, "/lucid/stub.bin"))).StatusCode,
            new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden });
    }
}
