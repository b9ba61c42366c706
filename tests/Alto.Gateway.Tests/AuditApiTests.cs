using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Alto.Gateway.Tests;

/// <summary>The audit trail through the API: what changes leave, the SIEM export from a cursor, chain verification, and bad queries.</summary>
[Collection(GatewayCollection.Name)]
public sealed class AuditApiTests(GatewayFixture fixture)
{
    private static async Task<JsonElement[]> ItemsAsync(HttpClient client, string path) =>
        [.. (await (await client.GetAsync(new Uri(path, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("items").EnumerateArray()];

    private static async Task<JsonElement[]> ExportAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement)];
    }

    [Fact]
    public async Task AnAdminChangeIsAuditedWithItsActorOriginAndBeforeAndAfter()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "audited-" + Guid.NewGuid().ToString("N")[..8]);
        var renamed = "renamed-" + Guid.NewGuid().ToString("N")[..8];
        (await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { name = renamed })).EnsureSuccessStatusCode();

        var entries = await ItemsAsync(admin, $"/api/v1/tenants/{tenant}/audit?action=tenant");

        Assert.Equal(["tenant.updated", "tenant.created"], entries.Select(e => e.GetProperty("action").GetString()));
        var update = entries[0];
        Assert.Equal("user:admin", update.GetProperty("actor").GetString());
        Assert.Equal("127.0.0.1", update.GetProperty("origin").GetString());
        Assert.Equal(renamed, update.GetProperty("details").GetProperty("after").GetProperty("name").GetString());
        Assert.NotEqual(renamed, update.GetProperty("details").GetProperty("before").GetProperty("name").GetString());
        Assert.Equal(entries[1].GetProperty("hash").GetString(), update.GetProperty("prevHash").GetString());
    }

    [Fact]
    public async Task APlanRunForRealIsAuditedAndAPreviewIsNot()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "planned-" + Guid.NewGuid().ToString("N")[..8]);
        (await admin.PostAsync(new Uri($"/api/v1/tenants/{tenant}/plan", UriKind.Relative), null)).EnsureSuccessStatusCode();
        Assert.Empty(await ItemsAsync(admin, $"/api/v1/tenants/{tenant}/audit?action=plan"));

        (await admin.PostAsync(new Uri($"/api/v1/tenants/{tenant}/plan?dryRun=false", UriKind.Relative), null)).EnsureSuccessStatusCode();

        var run = Assert.Single(await ItemsAsync(admin, $"/api/v1/tenants/{tenant}/audit?action=plan"));
        Assert.Equal(("plan.run", "user:admin"), (run.GetProperty("action").GetString(), run.GetProperty("actor").GetString()));
    }

    [Fact]
    public async Task SignInsSucceededAndFailedGoToThePlatformTrail()
    {
        using var anonymous = fixture.ClientFor(null);
        var stranger = "nobody-" + Guid.NewGuid().ToString("N")[..8];
        var refused = await anonymous.PostAsJsonAsync("/api/v1/auth/login", new { username = stranger, password = "wrong-password" });
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        await fixture.LoginAsync("admin", GatewayFixture.AdminPassword);
        using var admin = fixture.ClientFor("platform-admin");

        var failed = await ItemsAsync(admin, $"/api/v1/audit?action=auth.sign_in_failed&actor=user:{stranger}");
        var succeeded = await ItemsAsync(admin, "/api/v1/audit?action=auth.signed_in&actor=user:admin&pageSize=1");

        Assert.Equal("failure", Assert.Single(failed).GetProperty("outcome").GetString());
        Assert.Equal("unknown user", failed[0].GetProperty("details").GetProperty("reason").GetString());
        Assert.Equal("success", Assert.Single(succeeded).GetProperty("outcome").GetString());
        using var tenantAdmin = fixture.ClientFor("tenant-admin");
        await (await tenantAdmin.GetAsync(new Uri("/api/v1/audit", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task FiltersMatchPrefixesLiterallyAndPathsBelowThemInEitherFlavour()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "filters-" + Guid.NewGuid().ToString("N")[..8]);
        string[] paths = [@"/srv/100%_done/a.bin", "/srv/100xxdone/b.bin", @"C:\Data\docs\report.pdf", @"C:\Data\docs2\other.pdf", "/srv/data_x/c.bin"];
        foreach (var (path, i) in paths.Select((path, i) => (path, i)))
        {
            var action = i == 1 ? "tierXstubbed" : "tier.stubbed";
            await fixture.Database.ExecuteAsync($$"""
                INSERT INTO alto.audit_log (tenant_id, actor, action, object_type, object_id, outcome, details, path)
                VALUES ('{{tenant}}', 'test', '{{action}}', 'tier_object', '{{i}}', 'success', '{}', '{{path}}')
                """);
        }
        async Task<string[]> PathsAsync(string query) =>
            [.. (await ItemsAsync(admin, $"/api/v1/tenants/{tenant}/audit?{query}")).Select(entry => entry.GetProperty("path").GetString() ?? "").Order(StringComparer.Ordinal)];

        // % and _ are characters of the path, not wildcards.
        Assert.Equal(["/srv/100%_done/a.bin"], await PathsAsync("pathPrefix=" + Uri.EscapeDataString("/srv/100%_done")));
        Assert.Equal(["/srv/data_x/c.bin"], await PathsAsync("pathPrefix=" + Uri.EscapeDataString("/srv/data_x/")));
        // A Windows folder's own entries, not its sibling's whose name only starts the same.
        Assert.Equal([@"C:\Data\docs\report.pdf"], await PathsAsync("pathPrefix=" + Uri.EscapeDataString(@"C:\Data\docs")));
        // An action prefix matches at a dot: "tier" is tier.stubbed, never tierXstubbed.
        Assert.Equal(4, (await ItemsAsync(admin, $"/api/v1/tenants/{tenant}/audit?action=tier")).Length);
        Assert.Empty(await ItemsAsync(admin, $"/api/v1/tenants/{tenant}/audit?action=tie_"));
    }

    [Fact]
    public async Task TheExportResumesFromItsCursorWithoutGapsOrRepeatsWhileEntriesKeepComing()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "export-" + Guid.NewGuid().ToString("N")[..8]);
        var seen = new List<long>();
        long cursor = 0;
        for (var round = 0; round < 6; round++)
        {
            // Changes land between the collector's reads.
            for (var i = 0; i < 3; i++)
            {
                (await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { description = $"round {round}.{i}" })).EnsureSuccessStatusCode();
            }
            var page = await ExportAsync(admin, $"/api/v1/tenants/{tenant}/audit/export?after={cursor}&limit=4");
            Assert.NotEmpty(page);
            seen.AddRange(page.Select(entry => entry.GetProperty("seq").GetInt64()));
            cursor = seen[^1];
        }
        JsonElement[] rest;
        while ((rest = await ExportAsync(admin, $"/api/v1/tenants/{tenant}/audit/export?after={cursor}&limit=4")).Length > 0)
        {
            seen.AddRange(rest.Select(entry => entry.GetProperty("seq").GetInt64()));
            cursor = seen[^1];
        }

        Assert.Equal(Enumerable.Range(1, 19).Select(n => (long)n), seen);
        var verdict = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{tenant}/audit/verify", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.True(verdict.GetProperty("intact").GetBoolean());
        Assert.Equal(19, verdict.GetProperty("entries").GetInt64());
    }

    [Theory]
    [InlineData("support", "", HttpStatusCode.OK)]
    [InlineData("viewer", "", HttpStatusCode.Forbidden)]
    [InlineData("support", "/export", HttpStatusCode.Forbidden)]
    [InlineData("support", "/verify", HttpStatusCode.Forbidden)]
    [InlineData("tenant-admin", "/export", HttpStatusCode.OK)]
    [InlineData("tenant-admin", "/verify", HttpStatusCode.OK)]
    public async Task RolesReadExportAndVerifyAsSpecified(string role, string suffix, HttpStatusCode expected)
    {
        using var client = fixture.ClientFor(role);
        var response = await client.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantA}/audit{suffix}", UriKind.Relative));
        Assert.Equal(expected, response.StatusCode);
        var other = await client.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantB}/audit{suffix}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    [Theory]
    [InlineData("/audit?pathPrefix=relative/path", "pathPrefix")]
    [InlineData("/audit?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to")]
    [InlineData("/audit?pageSize=0", "pageSize")]
    [InlineData("/audit/export?after=-1", "after")]
    [InlineData("/audit/export?limit=0", "limit")]
    [InlineData("/audit/export?limit=10001", "limit")]
    public async Task BadQueriesAreRefusedNamingTheField(string path, string field)
    {
        using var admin = fixture.ClientFor("platform-admin");
        var problem = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantA}{path}", UriKind.Relative)))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }
}
