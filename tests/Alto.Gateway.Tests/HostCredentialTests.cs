using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Alto.GrainInterfaces.Hosts;
using Alto.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Alto.Gateway.Tests;

/// <summary>Rotating and revoking what agents authenticate with: enrollment tokens and host credentials.</summary>
[Collection(GatewayCollection.Name)]
public sealed class HostCredentialTests(GatewayFixture fixture)
{
    private async Task<(HttpResponseMessage Response, string? Credential)> EnrollAsync(string token)
    {
        using var anonymous = fixture.ClientFor(null);
        var response = await anonymous.PostAsJsonAsync("/api/v1/agents/enroll", new { token });
        return (response, response.IsSuccessStatusCode ? (await response.AssertJsonAsync(HttpStatusCode.OK)).GetProperty("credential").GetString() : null);
    }

    private async Task<HttpStatusCode> AgentCallAsync(string credential)
    {
        using var agent = fixture.ClientFor(null);
        agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        return (await agent.GetAsync(new Uri("/api/v1/agents/me", UriKind.Relative))).StatusCode;
    }

    [Fact]
    public async Task ARevokedTokenEnrollsNothingARevokedCredentialStopsAtOnceAndANewTokenRotatesIt()
    {
        using var admin = fixture.ClientFor("tenant-admin");
        var registered = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts", new { name = "rotate-" + Guid.NewGuid().ToString("N")[..8] }))
            .AssertJsonAsync(HttpStatusCode.Created);
        var hostId = registered.GetProperty("host").GetProperty("id").GetGuid();
        var hostPath = $"/api/v1/tenants/{fixture.TenantA}/hosts/{hostId}";

        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync(new Uri($"{hostPath}/enrollment-token", UriKind.Relative))).StatusCode);
        var (refused, _) = await EnrollAsync(registered.GetProperty("enrollmentToken").GetString()!);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        await (await admin.DeleteAsync(new Uri($"{hostPath}/enrollment-token", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.Conflict);

        var first = await NewCredentialAsync(admin, hostPath);
        Assert.Equal(HttpStatusCode.OK, await AgentCallAsync(first));
        var revoked = await (await admin.PostAsync(new Uri($"{hostPath}/credential/revoke", UriKind.Relative), null)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("registered", revoked.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, await AgentCallAsync(first));
        await (await admin.PostAsync(new Uri($"{hostPath}/credential/revoke", UriKind.Relative), null)).AssertProblemAsync(HttpStatusCode.Conflict);

        // Rotation: a new token gives a new credential; the one before it no longer holds.
        var second = await NewCredentialAsync(admin, hostPath);
        var third = await NewCredentialAsync(admin, hostPath);
        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.OK), (await AgentCallAsync(second), await AgentCallAsync(third)));

        var trail = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantA}/audit?action=host&pageSize=100", UriKind.Relative)))
            .AssertJsonAsync(HttpStatusCode.OK);
        var actions = trail.GetProperty("items").EnumerateArray()
            .Where(e => e.GetProperty("objectId").GetString() == hostId.ToString()).Select(e => e.GetProperty("action").GetString()).ToList();
        // Newest first. A credential is issued when its token is redeemed; the host is enrolled when it is first used (the second never was).
        Assert.Equal(["host.enrolled", "host.credential_issued", "host.enrollment_token_renewed", "host.credential_issued", "host.enrollment_token_renewed",
            "host.credential_revoked", "host.enrolled", "host.credential_issued", "host.enrollment_token_renewed", "host.enrollment_token_revoked",
            "host.registered"], actions);
    }

    /// <summary>
    /// Revoking a credential ends its agent's session at once, even when what follows the stored
    /// change cannot be written at that moment (<see cref="AuditLogRefusal"/>): the revocation is answered as made, and its entry follows.
    /// </summary>
    [Fact]
    public async Task ARevokedCredentialEndsItsSessionEvenWhileTheAuditLogRefusesTheEntry()
    {
        var host = await PlannedHost.CreateAsync(fixture);
        var sessions = new StandInSessions(fixture.Services.GetRequiredService<IClusterClient>());
        var session = await sessions.ConnectAsync(host);
        using var admin = fixture.ClientFor("platform-admin");
        var refusal = await AuditLogRefusal.StartAsync(fixture.Database, host.TenantId);
        var revokedEntries = $"SELECT count(*) FROM alto.audit_log WHERE host_id = '{host.HostId}' AND action = 'host.credential_revoked'";
        try
        {
            var revoked = await admin.PostAsync(new Uri($"/api/v1/tenants/{host.TenantId}/hosts/{host.HostId}/credential/revoke", UriKind.Relative), null);

            Assert.Equal("registered", (await revoked.AssertJsonAsync(HttpStatusCode.OK)).GetProperty("status").GetString());
            // The end reaches the session one way, a moment after the answer.
            var ended = DateTime.UtcNow.AddSeconds(10);
            while (session.Ended is null && DateTime.UtcNow < ended)
            {
                await Task.Delay(50);
            }
            Assert.Equal(SessionStanding.Revoked, session.Ended?.Standing);
            Assert.Equal(HttpStatusCode.Unauthorized, await AgentCallAsync(host.Credential));
            Assert.Equal(0, await fixture.Database.CountAsync(revokedEntries));
        }
        finally
        {
            await refusal.DisposeAsync();
            await sessions.CloseAllAsync();
        }
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (await fixture.Database.CountAsync(revokedEntries) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the revocation's audit entry never followed");
            await Task.Delay(250);
        }
    }

    private async Task<string> NewCredentialAsync(HttpClient admin, string hostPath)
    {
        var renewed = await (await admin.PostAsync(new Uri($"{hostPath}/enrollment-token", UriKind.Relative), null)).AssertJsonAsync(HttpStatusCode.OK);
        var (response, credential) = await EnrollAsync(renewed.GetProperty("enrollmentToken").GetString()!);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return credential!;
    }
}
