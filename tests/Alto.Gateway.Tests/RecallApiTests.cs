using System.Net;
using System.Net.Http.Json;
using Alto.TestSupport;

namespace Alto.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class RecallApiTests(GatewayFixture fixture)
{
    private async Task<Guid> HostAsync(HttpClient admin) =>
        (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts", new { name = "recall-" + Guid.NewGuid().ToString("N")[..8], volumes = new[] { "/srv" } }))
            .AssertJsonAsync(HttpStatusCode.Created)).GetProperty("host").GetProperty("id").GetGuid();

    public static TheoryData<string, string, object> BadRecalls() => new()
    {
        { "nothing selected", "paths", new { } },
        { "two selectors", "paths", new { paths = new[] { "/srv/a" }, directory = "/srv" } },
        { "empty paths", "paths", new { paths = Array.Empty<string>() } },
        { "relative path", "paths[0]", new { paths = new[] { "srv/a" } } },
        { "relative folder", "directory", new { directory = "srv" } },
        { "unknown rule", "ruleId", new { ruleId = Guid.NewGuid() } },
        { "a file outside the volumes", "paths[1]", new { paths = new[] { "/srv/a", "/etc/shadow" } } },
        { "a climb out of a volume", "paths[0]", new { paths = new[] { "/srv/../etc/shadow" } } },
        { "a climb above the root", "paths[0]", new { paths = new[] { "/../../srv/a" } } },
        { "a folder outside the volumes", "directory", new { directory = "/etc" } },
        { "a folder that only begins like a volume", "directory", new { directory = "/srv-other" } },
    };

    [Theory]
    [MemberData(nameof(BadRecalls))]
    public async Task BadRecallsAreRefusedNamingTheFieldAndQueueNothing(string because, string field, object body)
    {
        using var admin = fixture.ClientFor("tenant-admin");
        var host = await HostAsync(admin);

        var problem = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts/{host}/recall", body)).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{because}: {problem}");
        var read = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantA}/hosts/{host}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(0, read.GetProperty("pendingCommands").GetInt32());
    }

    /// <summary>
    /// A recall or a scan is queued for the agent with the audit entry of its request, in one
    /// transaction: when the audit log will not take the entry (<see cref="AuditLogRefusal"/>) the
    /// request is answered 503 and nothing is queued. Before, the commands were queued (and the
    /// agent carried them out) while the answer said nothing had changed.
    /// </summary>
    [Fact]
    public async Task ARecallOrScanIsQueuedOnlyWithItsAuditEntry()
    {
        var host = await PlannedHost.CreateAsync(fixture, ("/lucid/cold/a.bin", 400 * 86_400L));
        await fixture.Database.ExecuteAsync($"UPDATE alto.tier_object SET state = 'STUBBED' WHERE host_id = '{host.HostId}'");
        using var admin = fixture.ClientFor("platform-admin");
        var hostUrl = $"/api/v1/tenants/{host.TenantId}/hosts/{host.HostId}";
        var queued = $"SELECT count(*) FROM alto.agent_command WHERE host_id = '{host.HostId}'";

        await using (await AuditLogRefusal.StartAsync(fixture.Database, host.TenantId))
        {
            await (await admin.PostAsJsonAsync($"{hostUrl}/recall", new { paths = new[] { "/lucid/cold/a.bin" } })).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            await (await admin.PostAsJsonAsync($"{hostUrl}/scan", new { paths = new[] { "/lucid/cold" } })).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Equal(0, await fixture.Database.CountAsync(queued));
        }

        await (await admin.PostAsJsonAsync($"{hostUrl}/recall", new { paths = new[] { "/lucid/cold/a.bin" } })).AssertJsonAsync(HttpStatusCode.Accepted);
        await (await admin.PostAsJsonAsync($"{hostUrl}/scan", new { paths = new[] { "/lucid/cold" } })).AssertJsonAsync(HttpStatusCode.Accepted);
        Assert.Equal(2, await fixture.Database.CountAsync(queued));
        Assert.Equal(2, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE host_id = '{host.HostId}' AND action IN ('host.recall_requested', 'host.scan_requested')"));
    }

    [Fact]
    public async Task AWindowsHostsStubsAreFoundWhateverTheCaseAndSlashOfTheRequest()
    {
        var host = await PlannedHost.CreateAsync(fixture, "windows", @"C:\Data", (@"C:\Data\docs\report.pdf", 400 * 86_400L), (@"C:\Data\images\photo.jpg", 400 * 86_400L));
        await fixture.Database.ExecuteAsync($"UPDATE alto.tier_object SET state = 'STUBBED' WHERE host_id = '{host.HostId}'");
        using var admin = fixture.ClientFor("platform-admin");

        var byPath = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{host.TenantId}/hosts/{host.HostId}/recall", new { paths = new[] { "c:/data/DOCS/Report.PDF" } }))
            .AssertJsonAsync(HttpStatusCode.Accepted);
        var byFolder = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{host.TenantId}/hosts/{host.HostId}/recall", new { directory = @"c:\DATA\images" }))
            .AssertJsonAsync(HttpStatusCode.Accepted);

        Assert.Equal((1, 1), (byPath.GetProperty("files").GetInt32(), byFolder.GetProperty("files").GetInt32()));
        var listed = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/tier-objects?hostId={host.HostId}&pathPrefix=c:/data/DOCS", UriKind.Relative)))
            .AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(@"C:\Data\docs\report.pdf", Assert.Single(listed.GetProperty("items").EnumerateArray()).GetProperty("path").GetString());
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{host.TenantId}/hosts/{host.HostId}/recall", new { paths = new[] { "/srv/a" } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ARecallIsForTheTenantsOwnHostsAndForRolesThatMayChangeThem()
    {
        using var admin = fixture.ClientFor("tenant-admin");
        using var viewer = fixture.ClientFor("viewer");
        using var platform = fixture.ClientFor("platform-admin");
        var host = await HostAsync(admin);

        await (await viewer.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts/{host}/recall", new { directory = "/srv" }))
            .AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await platform.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantB}/hosts/{host}/recall", new { directory = "/srv" }))
            .AssertProblemAsync(HttpStatusCode.NotFound);
        var receipt = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts/{host}/recall", new { directory = "/srv" }))
            .AssertJsonAsync(HttpStatusCode.Accepted);
        Assert.Equal((0, 0), (receipt.GetProperty("files").GetInt32(), receipt.GetProperty("commands").GetInt32()));
    }

    [Theory]
    [InlineData("/etc")]
    [InlineData("/srv/../etc")]
    [InlineData("/srv/projects/../../root/.ssh")]
    [InlineData("/srv-other")]
    public async Task AScanNeverReachesOutsideTheHostsVolumes(string path)
    {
        using var admin = fixture.ClientFor("tenant-admin");
        var host = await HostAsync(admin);

        var problem = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts/{host}/scan", new { paths = new[] { "/srv/projects", path } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains("not below any of this host's volumes", problem.GetProperty("errors").GetProperty("paths[1]")[0].GetString(), StringComparison.Ordinal);
        var read = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantA}/hosts/{host}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(0, read.GetProperty("pendingCommands").GetInt32());
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts/{host}/scan", new { paths = new[] { "/srv/./projects/../projects" } }))
            .AssertJsonAsync(HttpStatusCode.Accepted);
        // The host list says so too: one command waits for the agent.
        var list = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantA}/hosts?pageSize=500", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(1, list.GetProperty("items").EnumerateArray().Single(item => item.GetProperty("id").GetGuid() == host).GetProperty("pendingCommands").GetInt32());
    }
}
