using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Alto.Gateway.Tests;

/// <summary>
/// Two admins editing the same rule, target, tenant or host: a change sent with the ETag its sender read
/// (If-Match, RFC 9110) is refused with 412 when the other changed it meanwhile, and nothing changes.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ConditionalChangeTests(GatewayFixture fixture)
{
    private static Uri Relative(string path) => new(path, UriKind.Relative);

    private static string Tag(HttpResponseMessage response) =>
        response.Headers.ETag is { IsWeak: false } tag ? tag.Tag : throw new Xunit.Sdk.XunitException($"no strong ETag on {response.RequestMessage?.RequestUri}");

    private static HttpRequestMessage Request(HttpMethod method, string path, string? ifMatch, object? body = null)
    {
        var request = new HttpRequestMessage(method, Relative(path)) { Content = body is null ? null : JsonContent.Create(body) };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        return request;
    }

    private static async Task<(Guid Tenant, Guid Target)> TenantWithTargetAsync(HttpClient admin)
    {
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "ifmatch-" + Guid.NewGuid().ToString("N")[..8]);
        var target = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/targets",
            new { name = "t-" + Guid.NewGuid().ToString("N")[..8], kind = "path", settings = new { path = $"/mnt/tier2/{tenant:N}" } })).AssertJsonAsync(HttpStatusCode.Created);
        return (tenant, target.GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task ARuleChangedSinceItWasReadIsNeitherReplacedNorDeleted()
    {
        using var alice = fixture.ClientFor("platform-admin");
        using var bob = fixture.ClientFor("platform-admin");
        var (tenant, target) = await TenantWithTargetAsync(alice);
        var created = await alice.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules",
            new { name = "cold media", targetId = target, criteria = new { pathGlobs = new[] { "/srv/media/**" }, accessedOlderThanDays = 180 } });
        var rule = (await created.AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var path = $"/api/v1/tenants/{tenant}/rules/{rule}";
        var read = await alice.GetAsync(Relative(path));
        var aliceTag = Tag(read);
        Assert.Equal(Tag(created), aliceTag);

        // Bob narrows the rule with what he read; Alice, still holding her read, widens it.
        var bobs = await bob.SendAsync(Request(HttpMethod.Put, path, aliceTag,
            new { name = "cold media", targetId = target, criteria = new { pathGlobs = new[] { "/srv/media/**" }, accessedOlderThanDays = 365 } }));
        await bobs.AssertJsonAsync(HttpStatusCode.OK);
        var bobTag = Tag(bobs);
        Assert.NotEqual(aliceTag, bobTag);
        var alices = await alice.SendAsync(Request(HttpMethod.Put, path, aliceTag,
            new { name = "all media", targetId = target, criteria = new { pathGlobs = new[] { "/srv/**" }, accessedOlderThanDays = 30 } }));
        var problem = await alices.AssertProblemAsync(HttpStatusCode.PreconditionFailed);
        Assert.Contains("changed since it was read", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains(bobTag.Trim('"'), problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await (await alice.SendAsync(Request(HttpMethod.Delete, path, aliceTag))).AssertProblemAsync(HttpStatusCode.PreconditionFailed);
        await (await alice.SendAsync(Request(HttpMethod.Delete, path, "W/" + bobTag))).AssertProblemAsync(HttpStatusCode.PreconditionFailed);

        // Bob's rule stands, in the grain and in its mirror, at his revision.
        var now = await alice.GetAsync(Relative(path));
        var body = await now.AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(("cold media", 365), (body.GetProperty("name").GetString(), body.GetProperty("criteria").GetProperty("accessedOlderThanDays").GetInt32()));
        Assert.Equal(bobTag, Tag(now));
        Assert.Equal(365, await fixture.Database.CountAsync($"SELECT (criteria->>'accessedOlderThanDays')::int FROM alto.rule WHERE id = '{rule}'"));

        // A header that is not a list of quoted tags is bad input; a list naming the current revision, or *, passes.
        var malformed = await alice.SendAsync(Request(HttpMethod.Delete, path, bobTag.Trim('"')));
        Assert.True((await malformed.AssertProblemAsync(HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("If-Match", out _));
        var renamed = await alice.SendAsync(Request(HttpMethod.Put, path, $"\"stale\", {bobTag}",
            new { name = "cold video", targetId = target, criteria = new { accessedOlderThanDays = 365 } }));
        await renamed.AssertJsonAsync(HttpStatusCode.OK);
        await (await alice.SendAsync(Request(HttpMethod.Put, path, "*",
            new { name = "cold video", targetId = target, enabled = false, criteria = new { accessedOlderThanDays = 365 } }))).AssertJsonAsync(HttpStatusCode.OK);
        var last = Tag(await alice.GetAsync(Relative(path)));
        Assert.NotEqual(Tag(renamed), last);
        Assert.Equal(HttpStatusCode.NoContent, (await bob.SendAsync(Request(HttpMethod.Delete, path, last))).StatusCode);
        await (await alice.GetAsync(Relative(path))).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task OfChangesRacingWithTheSameRevisionExactlyOneIsMade()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var (tenant, target) = await TenantWithTargetAsync(admin);
        var rule = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules",
            new { name = "r", targetId = target, criteria = new { minSizeBytes = 1 } })).AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var path = $"/api/v1/tenants/{tenant}/rules/{rule}";
        var tag = Tag(await admin.GetAsync(Relative(path)));

        var answers = await Task.WhenAll(Enumerable.Range(1, 8).Select(async i =>
        {
            using var client = fixture.ClientFor("platform-admin");
            return (i, await client.SendAsync(Request(HttpMethod.Put, path, tag, new { name = "r", targetId = target, criteria = new { minSizeBytes = i * 1000 } })));
        }));

        var made = Assert.Single(answers, answer => answer.Item2.StatusCode == HttpStatusCode.OK);
        Assert.All(answers.Where(answer => answer != made), answer => Assert.Equal(HttpStatusCode.PreconditionFailed, answer.Item2.StatusCode));
        var stored = await (await admin.GetAsync(Relative(path))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(made.i * 1000, stored.GetProperty("criteria").GetProperty("minSizeBytes").GetInt64());
    }

    [Fact]
    public async Task ATargetTenantOrPriceListChangedSinceItWasReadIsLeftAsTheOtherAdminMadeIt()
    {
        using var alice = fixture.ClientFor("platform-admin");
        using var bob = fixture.ClientFor("platform-admin");
        var (tenant, target) = await TenantWithTargetAsync(alice);

        var targetPath = $"/api/v1/tenants/{tenant}/targets/{target}";
        var targetTag = Tag(await alice.GetAsync(Relative(targetPath)));
        var disabled = await bob.SendAsync(Request(HttpMethod.Patch, targetPath, targetTag, new { enabled = false }));
        await disabled.AssertJsonAsync(HttpStatusCode.OK);
        await (await alice.SendAsync(Request(HttpMethod.Patch, targetPath, targetTag, new { name = "renamed" }))).AssertProblemAsync(HttpStatusCode.PreconditionFailed);
        var targetNow = await alice.GetAsync(Relative(targetPath));
        Assert.False((await targetNow.AssertJsonAsync(HttpStatusCode.OK)).GetProperty("enabled").GetBoolean());
        Assert.Equal(Tag(disabled), Tag(targetNow));
        Assert.NotEqual("renamed", (await targetNow.AssertJsonAsync(HttpStatusCode.OK)).GetProperty("name").GetString());

        var tenantPath = $"/api/v1/tenants/{tenant}";
        var tenantTag = Tag(await alice.GetAsync(Relative(tenantPath)));
        var bobs = await bob.SendAsync(Request(HttpMethod.Patch, tenantPath, tenantTag, new { orphanGraceDays = 90 }));
        await bobs.AssertJsonAsync(HttpStatusCode.OK);
        await (await alice.SendAsync(Request(HttpMethod.Patch, tenantPath, tenantTag, new { reclaimOrphans = true, orphanGraceDays = 1 })))
            .AssertProblemAsync(HttpStatusCode.PreconditionFailed);
        var tenantNow = await (await alice.GetAsync(Relative(tenantPath))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((90, false), (tenantNow.GetProperty("orphanGraceDays").GetInt32(), tenantNow.GetProperty("reclaimOrphans").GetBoolean()));
        await (await alice.SendAsync(Request(HttpMethod.Patch, tenantPath, Tag(bobs), new { reclaimOrphans = true }))).AssertJsonAsync(HttpStatusCode.OK);

        // The prices: a whole replacement, so an admin working from an old read would put back the other's.
        var pricesPath = $"/api/v1/tenants/{tenant}/cost-model";
        var pricesTag = Tag(await alice.GetAsync(Relative(pricesPath)));
        var bobsPrices = await bob.SendAsync(Request(HttpMethod.Put, pricesPath, pricesTag,
            new { currency = "EUR", localPerGbMonth = 0.12m, targets = new[] { new { targetId = target, storagePerGbMonth = 0.03m } } }));
        await bobsPrices.AssertJsonAsync(HttpStatusCode.OK);
        await (await alice.SendAsync(Request(HttpMethod.Put, pricesPath, pricesTag, new { currency = "USD", localPerGbMonth = 0.2m, targets = Array.Empty<object>() })))
            .AssertProblemAsync(HttpStatusCode.PreconditionFailed);
        var prices = await alice.GetAsync(Relative(pricesPath));
        Assert.Equal(("EUR", 1), ((await prices.AssertJsonAsync(HttpStatusCode.OK)).GetProperty("currency").GetString(),
            (await prices.AssertJsonAsync(HttpStatusCode.OK)).GetProperty("targets").GetArrayLength()));
        Assert.Equal(Tag(bobsPrices), Tag(prices));
    }

    [Fact]
    public async Task AHostsSettingsChangedSinceTheyWereReadAreLeftAsTheOtherAdminMadeThemAndAChangeIsAllOrNothing()
    {
        using var alice = fixture.ClientFor("platform-admin");
        using var bob = fixture.ClientFor("platform-admin");
        var (tenant, _) = await TenantWithTargetAsync(alice);
        var registered = await (await alice.PostAsJsonAsync($"/api/v1/tenants/{tenant}/hosts",
            new { name = "fs-" + Guid.NewGuid().ToString("N")[..8], os = "linux", volumes = new[] { "/srv/projects", "/srv/media" } })).AssertJsonAsync(HttpStatusCode.Created);
        var path = $"/api/v1/tenants/{tenant}/hosts/{registered.GetProperty("host").GetProperty("id").GetGuid()}";
        var aliceTag = Tag(await alice.GetAsync(Relative(path)));

        // The agent enrolling changes the host's status, not its settings: the revision Alice read still holds.
        using var anonymous = fixture.CreateClient();
        await (await anonymous.PostAsJsonAsync("/api/v1/agents/enroll", new { token = registered.GetProperty("enrollmentToken").GetString() }))
            .AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(aliceTag, Tag(await alice.GetAsync(Relative(path))));

        // Bob takes /srv/media out of scope; Alice, from her read, limits the bandwidth and would put it back.
        var bobs = await bob.SendAsync(Request(HttpMethod.Patch, path, aliceTag, new { volumes = new[] { "/srv/projects" } }));
        await bobs.AssertJsonAsync(HttpStatusCode.OK);
        await (await alice.SendAsync(Request(HttpMethod.Patch, path, aliceTag,
            new { bandwidthLimitBytesPerSecond = 1_000_000, volumes = new[] { "/srv/projects", "/srv/media" } }))).AssertProblemAsync(HttpStatusCode.PreconditionFailed);
        var now = await alice.GetAsync(Relative(path));
        var host = await now.AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(["/srv/projects"], host.GetProperty("volumes").EnumerateArray().Select(volume => volume.GetString()));
        Assert.False(host.TryGetProperty("bandwidthLimitBytesPerSecond", out var limit) && limit.ValueKind != JsonValueKind.Null, "Alice's limit was made");
        Assert.Equal(Tag(bobs), Tag(now));

        // Sent with the current revision, every part is made, in one change.
        var made = await alice.SendAsync(Request(HttpMethod.Patch, path, Tag(now),
            new { bandwidthLimitBytesPerSecond = 1_000_000, timeZone = "Europe/Berlin", volumes = new[] { "/srv/projects", "/srv/archive" } }));
        var after = await made.AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((1_000_000L, "Europe/Berlin"), (after.GetProperty("bandwidthLimitBytesPerSecond").GetInt64(), after.GetProperty("timeZone").GetString()));
        Assert.NotEqual(Tag(now), Tag(made));
        Assert.Equal(Tag(made), Tag(await bob.GetAsync(Relative(path))));
    }

    [Fact]
    public async Task APreconditionSentWhereNoneIsEvaluatedIsRefusedAndNothingChanges()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var (tenant, target) = await TenantWithTargetAsync(admin);
        var created = await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules", new { name = "r", targetId = target, criteria = new { minSizeBytes = 1 } });
        var rule = (await created.AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();

        // A reorder and a disable change nothing conditionally: a client sending If-Match there would believe they did.
        var reorder = await admin.SendAsync(Request(HttpMethod.Post, $"/api/v1/tenants/{tenant}/rules/reorder", Tag(created), new { ruleIds = new[] { rule } }));
        Assert.Contains("does not take If-Match", (await reorder.AssertProblemAsync(HttpStatusCode.BadRequest)).GetProperty("errors").GetProperty("If-Match")[0].GetString(), StringComparison.Ordinal);
        await (await admin.SendAsync(Request(HttpMethod.Post, $"/api/v1/tenants/{tenant}/disable", "*"))).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("active", (await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}"))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("status").GetString());

        // Dates are not revisions: If-Unmodified-Since is refused even where If-Match is taken.
        using var byDate = Request(HttpMethod.Delete, $"/api/v1/tenants/{tenant}/rules/{rule}", null);
        byDate.Headers.IfUnmodifiedSince = DateTimeOffset.UtcNow.AddDays(-1);
        Assert.True((await (await admin.SendAsync(byDate)).AssertProblemAsync(HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("If-Unmodified-Since", out _));
        await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/rules/{rule}"))).AssertJsonAsync(HttpStatusCode.OK);

        // "Only if it does not exist yet" is not evaluated either.
        using var createOnly = Request(HttpMethod.Put, $"/api/v1/tenants/{tenant}/rules/{rule}", null, new { name = "overwritten", targetId = target, criteria = new { minSizeBytes = 2 } });
        createOnly.Headers.TryAddWithoutValidation("If-None-Match", "*");
        Assert.True((await (await admin.SendAsync(createOnly)).AssertProblemAsync(HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("If-None-Match", out _));
        Assert.Equal("r", (await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/rules/{rule}"))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("name").GetString());
    }

    [Fact]
    public async Task AReconciliationScheduleChangedOrRemovedSinceItWasReadIsLeftAsTheOtherAdminMadeIt()
    {
        using var alice = fixture.ClientFor("platform-admin");
        using var bob = fixture.ClientFor("platform-admin");
        var (tenant, target) = await TenantWithTargetAsync(alice);
        var path = $"/api/v1/tenants/{tenant}/targets/{target}/reconcile-schedule";
        var set = await alice.PutAsJsonAsync(path, new { everyHours = 24, depth = "list" });
        await set.AssertJsonAsync(HttpStatusCode.OK);
        var read = await alice.GetAsync(Relative(path));
        Assert.Equal(Tag(set), Tag(read));

        // Bob makes it weekly; Alice's change and removal from her read are refused, and his schedule stands.
        var bobs = await bob.SendAsync(Request(HttpMethod.Put, path, Tag(read), new { everyHours = 168, depth = "list" }));
        await bobs.AssertJsonAsync(HttpStatusCode.OK);
        await (await alice.SendAsync(Request(HttpMethod.Put, path, Tag(read), new { everyHours = 1, depth = "deep", samplePercent = 100 }))).AssertProblemAsync(HttpStatusCode.PreconditionFailed);
        await (await alice.SendAsync(Request(HttpMethod.Delete, path, Tag(read)))).AssertProblemAsync(HttpStatusCode.PreconditionFailed);
        var now = await alice.GetAsync(Relative(path));
        Assert.Equal(168, (await now.AssertJsonAsync(HttpStatusCode.OK)).GetProperty("schedule").GetProperty("everyHours").GetInt32());
        Assert.Equal(Tag(bobs), Tag(now));

        // Removed by Bob, it is at no revision: Alice's change from her read does not bring it back.
        Assert.Equal(HttpStatusCode.NoContent, (await bob.SendAsync(Request(HttpMethod.Delete, path, Tag(now)))).StatusCode);
        var gone = await (await alice.SendAsync(Request(HttpMethod.Put, path, Tag(now), new { everyHours = 12, depth = "list" }))).AssertProblemAsync(HttpStatusCode.PreconditionFailed);
        Assert.Contains("has no reconciliation schedule now", gone.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await (await alice.SendAsync(Request(HttpMethod.Delete, path, Tag(now)))).AssertProblemAsync(HttpStatusCode.PreconditionFailed);
        await (await alice.GetAsync(Relative(path))).AssertProblemAsync(HttpStatusCode.NotFound);

        // If-Match: * replaces a schedule that exists, whatever its revision, and creates none (RFC 9110, 13.1.1).
        await (await alice.SendAsync(Request(HttpMethod.Put, path, "*", new { everyHours = 12, depth = "list" }))).AssertProblemAsync(HttpStatusCode.PreconditionFailed);
        await (await alice.GetAsync(Relative(path))).AssertProblemAsync(HttpStatusCode.NotFound);
        (await alice.PutAsJsonAsync(path, new { everyHours = 24, depth = "list" })).EnsureSuccessStatusCode();
        var replaced = await (await alice.SendAsync(Request(HttpMethod.Put, path, "*", new { everyHours = 12, depth = "list" }))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(12, replaced.GetProperty("schedule").GetProperty("everyHours").GetInt32());
        Assert.Equal(HttpStatusCode.NoContent, (await alice.SendAsync(Request(HttpMethod.Delete, path, "*"))).StatusCode);
    }

    private static HttpRequestMessage Revalidation(string path, string ifNoneMatch)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, Relative(path));
        request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        return request;
    }

    [Fact]
    public async Task AReadRevalidatedWithTheRevisionItHoldsIsAnsweredNotModifiedAndAChangedOneInFull()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var (tenant, target) = await TenantWithTargetAsync(admin);
        var created = await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules", new { name = "r", targetId = target, criteria = new { minSizeBytes = 1 } });
        var path = $"/api/v1/tenants/{tenant}/rules/{(await created.AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid()}";
        var read = await admin.GetAsync(Relative(path));
        Assert.True(read.Headers.CacheControl?.NoStore, "a rule's read may be kept in a cache");

        // The revision held (weakly compared, in a list, or any): 304 with the tag and no body.
        foreach (var held in new[] { Tag(read), $"W/{Tag(read)}", $"\"other\", {Tag(read)}", "*" })
        {
            var unchanged = await admin.SendAsync(Revalidation(path, held));
            Assert.True(unchanged.StatusCode == HttpStatusCode.NotModified, $"{held}: {(int)unchanged.StatusCode}");
            Assert.Equal(Tag(read), Tag(unchanged));
            Assert.Empty(await unchanged.Content.ReadAsByteArrayAsync());
        }

        // Changed since, or a tag that is not one: the read is answered in full.
        var changed = await admin.SendAsync(Request(HttpMethod.Put, path, Tag(read), new { name = "renamed", targetId = target, criteria = new { minSizeBytes = 2 } }));
        await changed.AssertJsonAsync(HttpStatusCode.OK);
        var fresh = await admin.SendAsync(Revalidation(path, Tag(read)));
        Assert.Equal("renamed", (await fresh.AssertJsonAsync(HttpStatusCode.OK)).GetProperty("name").GetString());
        Assert.Equal(Tag(changed), Tag(fresh));
        await (await admin.SendAsync(Revalidation(path, "not-a-tag"))).AssertJsonAsync(HttpStatusCode.OK);

        // A host's revision covers its settings, not its status and heartbeats, which its read also
        // answers: it is always read in full.
        var registered = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/hosts", new { name = "fs-" + Guid.NewGuid().ToString("N")[..8], os = "linux" }))
            .AssertJsonAsync(HttpStatusCode.Created);
        var hostPath = $"/api/v1/tenants/{tenant}/hosts/{registered.GetProperty("host").GetProperty("id").GetGuid()}";
        var host = await admin.GetAsync(Relative(hostPath));
        await (await admin.SendAsync(Revalidation(hostPath, Tag(host)))).AssertJsonAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task TheApiDocumentDeclaresIfMatchAndItsRefusalWhereAChangeTakesIt()
    {
        using var admin = fixture.ClientFor("platform-admin");
        using var document = JsonDocument.Parse(await admin.GetStringAsync(Relative("/openapi/v1.json")));
        var paths = document.RootElement.GetProperty("paths");
        foreach (var (path, method) in new[]
        {
            ("/api/v1/tenants/{tenantId}/rules/{ruleId}", "put"), ("/api/v1/tenants/{tenantId}/rules/{ruleId}", "delete"),
            ("/api/v1/tenants/{tenantId}/targets/{targetId}", "patch"), ("/api/v1/tenants/{tenantId}", "patch"),
            ("/api/v1/tenants/{tenantId}/hosts/{hostId}", "patch"), ("/api/v1/tenants/{tenantId}/cost-model", "put"),
            ("/api/v1/tenants/{tenantId}/targets/{targetId}/reconcile-schedule", "put"), ("/api/v1/tenants/{tenantId}/targets/{targetId}/reconcile-schedule", "delete"),
            ("/api/v1/tenants/{tenantId}/targets/{targetId}", "delete"), ("/api/v1/tenants/{tenantId}/hosts/{hostId}", "delete"),
        })
        {
            var operation = paths.GetProperty(path).GetProperty(method);
            Assert.Contains(operation.GetProperty("parameters").EnumerateArray(),
                parameter => parameter.GetProperty("in").GetString() == "header" && parameter.GetProperty("name").GetString() == "If-Match");
            Assert.True(operation.GetProperty("responses").TryGetProperty("412", out _), $"{method} {path} documents no 412");
        }
    }
}
