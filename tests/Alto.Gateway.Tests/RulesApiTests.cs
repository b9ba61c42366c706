using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Alto.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class RulesApiTests(GatewayFixture fixture)
{
    private static Uri Relative(string path) => new(path, UriKind.Relative);

    private static async Task<Guid> CreateTargetAsync(HttpClient admin, Guid tenantId, bool enabled = true)
    {
        var target = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/targets",
            new { name = "t-" + Guid.NewGuid().ToString("N")[..8], kind = "path", settings = new { path = $"/mnt/tier2/{tenantId:N}" } })).AssertJsonAsync(HttpStatusCode.Created);
        var id = target.GetProperty("id").GetGuid();
        if (!enabled)
        {
            await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenantId}/targets/{id}", new { enabled = false })).AssertJsonAsync(HttpStatusCode.OK);
        }
        return id;
    }

    private static async Task<JsonElement[]> RulesAsync(HttpClient client, Guid tenantId) =>
        [.. (await (await client.GetAsync(Relative($"/api/v1/tenants/{tenantId}/rules"))).AssertJsonAsync(HttpStatusCode.OK)).EnumerateArray()];

    [Fact]
    public async Task RulesAreCreatedReadReplacedReorderedAndDeletedAndMirroredForReports()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "rules-" + Guid.NewGuid().ToString("N")[..8]);
        var target = await CreateTargetAsync(admin, tenant);

        var cold = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules", new
        {
            name = "cold media",
            targetId = target,
            criteria = new { pathGlobs = new[] { "/srv/media/**" }, accessedOlderThanDays = 180, minSizeBytes = 1 << 20, extensions = new[] { ".MP4", "mov" } },
        })).AssertJsonAsync(HttpStatusCode.Created);
        var coldId = cold.GetProperty("id").GetGuid();
        Assert.Equal(("tier", 10, true), (cold.GetProperty("action").GetString(), cold.GetProperty("priority").GetInt32(), cold.GetProperty("enabled").GetBoolean()));
        Assert.Equal(["mp4", "mov"], cold.GetProperty("criteria").GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));

        var keep = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules", new
        {
            name = "keep projects", action = "exclude", criteria = new { pathRegex = "^/srv/projects/" },
        })).AssertJsonAsync(HttpStatusCode.Created);
        var keepId = keep.GetProperty("id").GetGuid();
        Assert.Equal(20, keep.GetProperty("priority").GetInt32());

        var replaced = await (await admin.PutAsJsonAsync($"/api/v1/tenants/{tenant}/rules/{coldId}", new
        {
            name = "cold video", targetId = target, enabled = false, criteria = new { accessedOlderThanDays = 365 },
        })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(("cold video", 10, false), (replaced.GetProperty("name").GetString(), replaced.GetProperty("priority").GetInt32(), replaced.GetProperty("enabled").GetBoolean()));

        var reordered = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules/reorder", new { ruleIds = new[] { keepId, coldId } }))
            .AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal([keepId, coldId], reordered.EnumerateArray().Select(r => r.GetProperty("id").GetGuid()));
        Assert.Equal([keepId, coldId], (await RulesAsync(admin, tenant)).Select(r => r.GetProperty("id").GetGuid()));
        Assert.Equal(2, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.rule WHERE tenant_id = '{tenant}'"));
        Assert.Equal(10, await fixture.Database.CountAsync($"SELECT priority FROM alto.rule WHERE id = '{keepId}'"));
        Assert.Equal(365, await fixture.Database.CountAsync($"SELECT (criteria->>'accessedOlderThanDays')::int FROM alto.rule WHERE id = '{coldId}'"));

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(Relative($"/api/v1/tenants/{tenant}/rules/{keepId}"))).StatusCode);
        await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/rules/{keepId}"))).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Single(await RulesAsync(admin, tenant));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.rule WHERE tenant_id = '{tenant}'"));
    }

    public static TheoryData<string, string, object> BadRules() => new()
    {
        { "bad glob", "criteria.pathGlobs[0]", new { name = "r", criteria = new { pathGlobs = new[] { "/srv/[abc" } } } },
        { "bad regex", "criteria.pathRegex", new { name = "r", criteria = new { pathRegex = "(unclosed" } } },
        { "a NUL in a regex (no path holds one)", "criteria.excludePathRegex", new { name = "r", criteria = new { minSizeBytes = 1, excludePathRegex = "^/srv/tmp\0" } } },
        { "a back-reference (not linear)", "criteria.pathRegex", new { name = "r", criteria = new { pathRegex = "^/srv/(a+)\\1$" } } },
        { "patterns too long together", "criteria", new { name = "r", criteria = new { pathGlobs = Enumerable.Range(0, 50).Select(i => $"/srv/{i}/" + new string('x', 400)).ToArray() } } },
        { "negative size", "criteria.minSizeBytes", new { name = "r", criteria = new { minSizeBytes = -1 } } },
        { "max below min", "criteria.maxSizeBytes", new { name = "r", criteria = new { minSizeBytes = 100, maxSizeBytes = 10 } } },
        { "negative age", "criteria.accessedOlderThanDays", new { name = "r", criteria = new { accessedOlderThanDays = -3 } } },
        { "no criteria", "criteria", new { name = "r", criteria = new { } } },
        { "bad extension", "criteria.extensions[0]", new { name = "r", criteria = new { extensions = new[] { "tar.gz" } } } },
        { "unknown action", "action", new { name = "r", action = "delete", criteria = new { minSizeBytes = 1 } } },
        { "no name", "name", new { criteria = new { minSizeBytes = 1 } } },
        { "zero priority", "priority", new { name = "r", priority = 0, criteria = new { minSizeBytes = 1 } } },
    };

    [Theory]
    [MemberData(nameof(BadRules))]
    public async Task BadRulesAreRefusedNamingTheFieldAndChangeNothing(string because, string field, object body)
    {
        using var admin = fixture.ClientFor("tenant-admin");
        var target = await CreateTargetAsync(admin, fixture.TenantA);
        var before = (await RulesAsync(admin, fixture.TenantA)).Length;
        // Every bad rule is otherwise a valid tier rule with a real target.
        var json = JsonSerializer.SerializeToNode(body, JsonSerializerOptions.Web)!.AsObject();
        if (json["action"]?.GetValue<string>() != "exclude")
        {
            json["targetId"] = target;
        }

        var problem = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/rules", json)).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out var messages), $"{because}: {problem}");
        Assert.NotEmpty(messages.EnumerateArray().First().GetString()!);
        Assert.Equal(before, (await RulesAsync(admin, fixture.TenantA)).Length);
    }

    [Fact]
    public async Task ABadGlobOrRegexIsReportedWithItsPosition()
    {
        using var admin = fixture.ClientFor("tenant-admin");
        var target = await CreateTargetAsync(admin, fixture.TenantA);
        var problem = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/rules", new
        {
            name = "r", targetId = target, criteria = new { pathGlobs = new[] { "/ok/**", "/srv/{a,b" }, pathRegex = "[z-a]" },
        })).AssertProblemAsync(HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.Contains("at position 5", errors.GetProperty("criteria.pathGlobs[1]")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("at position 4", errors.GetProperty("criteria.pathRegex")[0].GetString(), StringComparison.Ordinal);
        Assert.False(errors.TryGetProperty("criteria.pathGlobs[0]", out _));
    }

    /// <summary>
    /// A NUL in a regular expression matches no path, and PostgreSQL cannot store it: a replacement
    /// holding one is refused and the rule stays as it was. Before, it was taken into the tenant's
    /// rules but not into their mirror or the audit log, and answered 500.
    /// </summary>
    [Fact]
    public async Task ARegexHoldingANulIsRefusedAndTheRuleStaysAsItWas()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "rules-" + Guid.NewGuid().ToString("N")[..8]);
        var target = await CreateTargetAsync(admin, tenant);
        var rule = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules", new { name = "cold", targetId = target, criteria = new { pathRegex = "^/srv/" } }))
            .AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var url = $"/api/v1/tenants/{tenant}/rules/{rule}";

        var problem = await (await admin.PutAsJsonAsync(url, new { name = "cold", targetId = target, criteria = new { pathRegex = "^/srv/\0" } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("NUL", problem.GetProperty("errors").GetProperty("criteria.pathRegex")[0].GetString(), StringComparison.Ordinal);
        var kept = await (await admin.GetAsync(Relative(url))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("^/srv/", kept.GetProperty("criteria").GetProperty("pathRegex").GetString());
        var updates = $"SELECT count(*) FROM alto.audit_log WHERE action = 'rule.updated' AND object_id = '{rule}'";
        Assert.Equal(0, await fixture.Database.CountAsync(updates));

        // The rule is changed as ever by a sound replacement, in its mirror and the audit log too.
        await (await admin.PutAsJsonAsync(url, new { name = "cold", targetId = target, criteria = new { pathRegex = "^/data/" } })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.rule WHERE id = '{rule}' AND criteria->>'pathRegex' = '^/data/'"));
        Assert.Equal(1, await fixture.Database.CountAsync(updates));
    }

    [Fact]
    public async Task TargetsMustBeTheTenantsOwnAndEnabled()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "targets-" + Guid.NewGuid().ToString("N")[..8]);
        var othersTarget = await CreateTargetAsync(admin, fixture.TenantB);
        var disabled = await CreateTargetAsync(admin, tenant, enabled: false);
        var criteria = new { minSizeBytes = 1 };

        foreach (var targetId in new[] { Guid.NewGuid(), othersTarget, disabled })
        {
            var problem = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules", new { name = "r", targetId, criteria }))
                .AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.True(problem.GetProperty("errors").TryGetProperty("targetId", out _), problem.ToString());
        }
        var exclude = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules",
            new { name = "r", action = "exclude", targetId = disabled, criteria })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(exclude.GetProperty("errors").TryGetProperty("targetId", out _));
        var otherHost = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules",
            new { name = "r", action = "exclude", hostId = Guid.NewGuid(), criteria })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(otherHost.GetProperty("errors").TryGetProperty("hostId", out _));

        Assert.Empty(await RulesAsync(admin, tenant));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.rule WHERE tenant_id = '{tenant}'"));
    }

    [Fact]
    public async Task APriorityIsTakenOnceAndAReorderMustListEveryRule()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "prio-" + Guid.NewGuid().ToString("N")[..8]);
        var target = await CreateTargetAsync(admin, tenant);
        var first = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules",
            new { name = "a", priority = 5, targetId = target, criteria = new { minSizeBytes = 1 } })).AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules",
            new { name = "b", priority = 5, targetId = target, criteria = new { minSizeBytes = 1 } })).AssertProblemAsync(HttpStatusCode.Conflict);
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules",
            new { name = "A", targetId = target, criteria = new { minSizeBytes = 1 } })).AssertProblemAsync(HttpStatusCode.Conflict);

        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules/reorder", new { ruleIds = Array.Empty<Guid>() })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules/reorder", new { ruleIds = new[] { first, first } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules/reorder", new { ruleIds = new[] { Guid.NewGuid() } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(5, (await RulesAsync(admin, tenant)).Single().GetProperty("priority").GetInt32());
    }

    [Fact]
    public async Task ReadersMayListAndPreviewButNotChange()
    {
        using var viewer = fixture.ClientFor("viewer");
        using var support = fixture.ClientFor("support");
        await RulesAsync(viewer, fixture.TenantA);
        await (await viewer.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/rules", new { name = "r", criteria = new { minSizeBytes = 1 } }))
            .AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await support.PostAsync(Relative($"/api/v1/tenants/{fixture.TenantA}/plan?dryRun=true"), null)).AssertJsonAsync(HttpStatusCode.OK);
        await (await support.PostAsync(Relative($"/api/v1/tenants/{fixture.TenantA}/plan?dryRun=false"), null)).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await viewer.GetAsync(Relative($"/api/v1/tenants/{fixture.TenantB}/rules"))).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await viewer.PostAsync(Relative($"/api/v1/tenants/{fixture.TenantB}/plan"), null)).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task APatternThatBacktracksCatastrophicallyElsewhereIsAcceptedAndAViewersDryRunOverHostilePathsTimesNothingOut()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "regex-" + Guid.NewGuid().ToString("N")[..8]);
        var target = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/targets", new { name = "nas", kind = "path", settings = new { path = $"/mnt/tier2/{tenant:N}" } }))
            .AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var host = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/hosts", new { name = "fs01", volumes = new[] { "/srv" } }))
            .AssertJsonAsync(HttpStatusCode.Created)).GetProperty("host").GetProperty("id").GetGuid();
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules", new { name = "keep", action = "exclude", criteria = new { pathRegex = "^/srv/x/(a|aa)+$" } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules", new { name = "old", targetId = target, criteria = new { pathGlobs = new[] { "/srv/**/*a*a*a*a*a*a*a*a*b" }, modifiedOlderThanDays = 1 } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        // 300 near misses of 4,000 characters: each ends in a character neither pattern takes.
        await fixture.Database.ExecuteAsync($"""
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT '{tenant}', '{host}', 0, 'f' || i, '/srv/x/' || repeat('a', 4000 + i) || '!', 100000, 0, 0, 0, '', 0, 0, now()
            FROM generate_series(1, 300) i
            """);
        var username = $"viewer-{Guid.NewGuid():N}"[..30];
        (await admin.PostAsJsonAsync("/api/v1/users", new { username, password = GatewayFixture.UserPassword, role = "viewer", tenantIds = new[] { tenant } }))
            .EnsureSuccessStatusCode();
        using var viewer = fixture.ClientFor(null);
        viewer.DefaultRequestHeaders.Authorization = new("Bearer", await fixture.LoginAsync(username, GatewayFixture.UserPassword));

        var preview = await (await viewer.PostAsync(Relative($"/api/v1/tenants/{tenant}/plan?dryRun=true"), null)).AssertJsonAsync(HttpStatusCode.OK);

        Assert.Equal((300, 0L), (preview.GetProperty("filesEvaluated").GetInt64(), preview.GetProperty("regexTimeouts").GetInt64()));
        Assert.Equal(0, preview.GetProperty("filesToTier").GetInt64());
    }
}
