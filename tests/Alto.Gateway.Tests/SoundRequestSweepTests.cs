using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Alto.Scanning;
using Alto.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Alto.Gateway.Tests;

/// <summary>
/// Every operation that takes a JSON body, called with a sound request about things that exist —
/// the sweep's tenant, its host (online), target, rule and user, a reconciliation run listing and
/// one taking its census — and then with each value of that request, at any depth, replaced by a
/// hostile one. A lone hostile property is refused for the properties missing beside it; here
/// everything else is right, so each value reaches the checks behind the first ones, and the
/// grains and the database behind those. Reads of those things are made with each query value
/// hostile. No answer may be a server error.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class SoundRequestSweepTests(GatewayFixture fixture) : IAsyncLifetime
{
    private readonly StandInSessions _sessions = new(fixture.Services.GetRequiredService<IClusterClient>());

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _sessions.CloseAllAsync();

    /// <summary>
    /// A sound request of each operation with a body, by its method and path: its query, then its
    /// body, with the names in braces standing for the sweep's own things.
    /// </summary>
    private static readonly Dictionary<string, (string Query, string Body)> SoundRequests = new()
    {
        ["POST /api/v1/tenants"] = ("", """{"name":"sweep-{unique}","description":"a tenant"}"""),
        ["PATCH /api/v1/tenants/{tenantId}"] = ("", """
            {"name":"{tenantName}","description":"a tenant","encryptTier2":false,"recallAfterReads":1,"planApproval":"auto",
             "minTierableBytes":0,"orphanGraceDays":7,"reclaimOrphans":false}
            """),
        ["POST /api/v1/tenants/{tenantId}/hosts"] = ("", """{"name":"another-host","os":"linux","volumes":["/srv"]}"""),
        ["PATCH /api/v1/tenants/{tenantId}/hosts/{hostId}"] = ("", """
            {"name":"host-{unique}","volumes":["/lucid"],"bandwidthLimitBytesPerSecond":0,"timeZone":"Europe/Berlin",
             "transferWindows":[{"days":"mon-fri","start":"20:00","end":"06:00","bytesPerSecond":50000000}],
             "lucidLink":{"filespaceRoot":"/lucid","pollSeconds":60,"fullScanDays":7}}
            """),
        ["POST /api/v1/tenants/{tenantId}/hosts/{hostId}/scan"] = ("", """{"paths":["/lucid"],"format":"csv"}"""),
        ["POST /api/v1/tenants/{tenantId}/hosts/{hostId}/recall"] = ("", """{"paths":["/lucid/f00.bin"],"directory":null,"ruleId":null}"""),
        ["POST /api/v1/tenants/{tenantId}/hosts/{hostId}/retry-abandoned"] = ("", """{"directory":"/lucid"}"""),
        ["POST /api/v1/tenants/{tenantId}/hosts/{hostId}/release-held"] = ("", """{"directory":"/lucid"}"""),
        ["POST /api/v1/tenants/{tenantId}/targets"] = ("", """
            {"name":"another-target","kind":"path","settings":{"path":"/mnt/tier2/{unique}","compression":"zstd"},"credentials":null}
            """),
        ["PATCH /api/v1/tenants/{tenantId}/targets/{targetId}"] = ("", """
            {"name":"nas","settings":{"path":"{targetPath}"},"credentials":null,"enabled":true}
            """),
        ["POST /api/v1/tenants/{tenantId}/rules"] = ("", Rule("another-rule", 20)),
        ["POST /api/v1/tenants/{tenantId}/rules/reorder"] = ("", """{"ruleIds":["{ruleId}"]}"""),
        ["PUT /api/v1/tenants/{tenantId}/rules/{ruleId}"] = ("", Rule("cold", 10)),
        ["POST /api/v1/scan-results/unchanged"] = ("?scanId={newId}&part=0", """{"baseScanId":"{newId}","folders":["/lucid/projects"]}"""),
        ["POST /api/v1/audit-updates"] = ("", """
            {"update_batch_id":"{newId}","customer_id":"{tenantId}","volume_id":"{hostId}","source_type":"lucidlink_audit",
             "collected_at":"2026-12-01T10:00:00Z",
             "updates":[{"file_path":"/f00.bin","access_type":"read","last_accessed":"2026-12-01T09:00:00Z","target_path":null,
                         "audit_file":".lucid_audit/n1/2026/12/x.log.active"}]}
            """),
        ["PUT /api/v1/tenants/{tenantId}/cost-model"] = ("", """
            {"currency":"EUR","localPerGbMonth":0.05,
             "targets":[{"targetId":"{targetId}","storagePerGbMonth":0.01,"writesPerThousand":0.005,"readsPerThousand":0.0004,"retrievalPerGb":0.02}]}
            """),
        ["POST /api/v1/tenants/{tenantId}/what-if"] = ("", $$"""{"rules":[{{Rule("what-if", 30)}}],"hostId":"{hostId}"}"""),
        ["POST /api/v1/tenants/{tenantId}/approvals"] = ("", """{"jobIds":["{newId}"],"all":false,"hostId":null}"""),
        ["POST /api/v1/tenants/{tenantId}/approvals/decline"] = ("", """{"jobIds":["{newId}"],"all":false,"hostId":null,"holdDays":30,"reason":"not now"}"""),
        ["POST /api/v1/tenants/{tenantId}/jobs/{jobId}/cancel"] = ("", """{"holdDays":30,"reason":"not now"}"""),
        ["POST /api/v1/users"] = ("", """{"username":"sweep-{unique}","password":"a sound pass phrase 42","role":"tenant-admin","tenantIds":["{tenantId}"]}"""),
        ["PATCH /api/v1/users/{userId}"] = ("", """{"disabled":false,"role":"viewer","tenantIds":["{tenantId}"]}"""),
        ["POST /api/v1/users/{userId}/password"] = ("", """{"password":"another sound pass phrase 43"}"""),
        ["POST /api/v1/agents/enroll"] = ("", """{"token":"an-unknown-token","agentVersion":"1.0.0","machineName":"fs01"}"""),
        ["POST /api/v1/agents/data-keys/unwrap"] = ("", """{"wrapped":"AAAA"}"""),
        ["POST /api/v1/agents/stubs/check"] = ("", """
            {"path":"/lucid/f00.bin","locator":"{locator}","sha256":"{sha256}","legacy":false,"bindingProblem":null}
            """),
        ["POST /api/v1/tenants/{tenantId}/targets/{targetId}/reconcile"] = ("", """
            {"depth":"deep","samplePercent":10,"requestsPerSecond":50,"allowMassLoss":false,"reclaimOrphans":false}
            """),
        ["PUT /api/v1/tenants/{tenantId}/targets/{targetId}/reconcile-schedule"] = ("", """
            {"everyHours":24,"depth":"deep","samplePercent":10,"requestsPerSecond":50}
            """),
        ["POST /api/v1/agents/reconcile-runs/{runId}/listing"] = ("", """
            {"after":null,"finished":false,"failure":null,
             "objects":[{"key":"{orphan}","length":1000,"modified":"2026-11-30T10:00:00Z","problem":null,"checked":false}]}
            """),
        ["POST /api/v1/agents/reconcile-runs/{runId}/stubs"] = ("", """
            {"facts":[{"path":"/lucid/f00.bin","found":"stub","locator":"{locator}","sha256":"{sha256}","targetId":"{targetId}","detail":null,"pathEscaped":false}]}
            """),
        ["POST /api/v1/agents/reconcile-runs/{runId}/reclaimed"] = ("", """{"results":[{"key":"{orphan}","outcome":"deleted","detail":null}]}"""),
        ["POST /api/v1/agents/reconcile-runs/{runId}/restored"] = ("", """{"results":[{"tierObjectId":1,"outcome":"restored","detail":null}]}"""),
    };

    private const string SoundRequest = "the sound request";

    /// <summary>The sound requests the sweep cannot make succeed, and their answer.</summary>
    private static readonly Dictionary<string, HttpStatusCode> RefusedSoundRequests = new()
    {
        // The sweep adds rules itself, so no list written beforehand names them all.
        ["POST /api/v1/tenants/{tenantId}/rules/reorder"] = HttpStatusCode.BadRequest,
        // The tenant's plans go out at once: no job waits for approval.
        ["POST /api/v1/tenants/{tenantId}/approvals"] = HttpStatusCode.NotFound,
        ["POST /api/v1/tenants/{tenantId}/approvals/decline"] = HttpStatusCode.NotFound,
        // The world's one job ended when its session opened (its files had been made stubs): it is over, not cancelled.
        ["POST /api/v1/tenants/{tenantId}/jobs/{jobId}/cancel"] = HttpStatusCode.Conflict,
        // A valid enrollment token would enroll a host, once; the sweep has none.
        ["POST /api/v1/agents/enroll"] = HttpStatusCode.Unauthorized,
        // No data key wrapped with the tenant's key is at hand (a target that encrypts hands them out in jobs).
        ["POST /api/v1/agents/data-keys/unwrap"] = HttpStatusCode.BadRequest,
        // The runs re-tier nothing: no stub of theirs is lost.
        ["POST /api/v1/agents/reconcile-runs/{runId}/restored"] = HttpStatusCode.BadRequest,
    };

    private static string Rule(string name, int priority) => $$$"""
        {"name":"{{{name}}}","priority":{{{priority}}},"enabled":true,"action":"tier","targetId":"{targetId}","hostId":"{hostId}",
         "criteria":{"pathGlobs":["/lucid/**"],"excludePathGlobs":["/lucid/keep/**"],"pathRegex":"\\.bin$","excludePathRegex":"^/lucid/tmp/",
                     "minSizeBytes":1,"maxSizeBytes":1000000000,"accessedOlderThanDays":30,"modifiedOlderThanDays":60,
                     "extensions":["bin"],"excludeExtensions":["tmp"]}}
        """;

    /// <summary>
    /// A tenant's things the sweeps name: its host (online, a stand-in session) with stubs on the
    /// tenant's target, a run on that target taking its census (one path of four answered, so it
    /// stays there), a second target with a run still listing it, a third free for a run to be
    /// started on (a target has one run at a time), a rule and a user; with the names that stand
    /// for them in the sound requests.
    /// </summary>
    private sealed record World(PlannedHost Host, Guid CensusRun, Guid ListingRun, Guid FreeTarget, Dictionary<string, string> Names)
    {
        /// <summary>The path with the world's things in it: a census is reported to the run taking one, all else of a run to the one listing; a run is started on the free target.</summary>
        public string FillPath(string template) => Fill(
            template.EndsWith("/reconcile", StringComparison.Ordinal) ? template.Replace("{targetId}", FreeTarget.ToString(), StringComparison.Ordinal) : template,
            Names, template.EndsWith("/stubs", StringComparison.Ordinal) ? CensusRun : ListingRun);

        /// <summary>The ids of the world's things, as they may appear in a request.</summary>
        public IEnumerable<string> Ids => [Host.TenantId.ToString(), Host.TenantId.ToString("N"), Host.HostId.ToString(), CensusRun.ToString(), ListingRun.ToString(),
            FreeTarget.ToString(), Names["{targetId}"], Names["{ruleId}"], Names["{userId}"], Names["{jobId}"]];
    }

    private async Task<World> WorldAsync()
    {
        var (host, targetId, locators) = await PlannedHost.StubbedAsync(fixture);
        await _sessions.ConnectAsync(host);
        using var admin = fixture.ClientFor("platform-admin");
        using var agent = host.AgentClient(fixture);
        var censusRun = await StartRunAsync(admin, host.TenantId, targetId);
        var listing = locators.Order(StringComparer.Ordinal).Select(locator => new { key = locator, length = 1000 }).ToArray();
        (await agent.PostAsJsonAsync($"/api/v1/agents/reconcile-runs/{censusRun}/listing", new { finished = true, objects = listing })).EnsureSuccessStatusCode();
        await StatusAsync(censusRun, "census");
        var otherTarget = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{host.TenantId}/targets",
            new { name = "nas-2", kind = "path", settings = new { path = $"/mnt/tier2/{host.TenantId:N}-2" } })).AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var listingRun = await StartRunAsync(admin, host.TenantId, otherTarget);
        var freeTarget = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{host.TenantId}/targets",
            new { name = "nas-3", kind = "path", settings = new { path = $"/mnt/tier2/{host.TenantId:N}-3" } })).AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var user = await (await admin.PostAsJsonAsync("/api/v1/users",
            new { username = "sweep-" + Guid.NewGuid().ToString("N")[..8], password = "a sound pass phrase 42", role = "tenant-admin", tenantIds = new[] { host.TenantId } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        var stub = await fixture.Database.ScalarAsync<string>($"SELECT locator || ' ' || hash FROM alto.tier_object WHERE host_id = '{host.HostId}' AND full_path = '/lucid/f00.bin'");
        return new World(host, censusRun, listingRun, freeTarget, new Dictionary<string, string>
        {
            ["{tenantId}"] = host.TenantId.ToString(),
            ["{tenantName}"] = await fixture.Database.ScalarAsync<string>($"SELECT name FROM alto.tenant WHERE id = '{host.TenantId}'"),
            ["{hostId}"] = host.HostId.ToString(),
            ["{targetId}"] = targetId.ToString(),
            ["{targetPath}"] = $"/mnt/tier2/{host.TenantId:N}",
            ["{jobId}"] = (await fixture.Database.ScalarAsync<Guid>($"SELECT id FROM alto.tiering_job WHERE host_id = '{host.HostId}' ORDER BY created_at LIMIT 1")).ToString(),
            ["{ruleId}"] = (await fixture.Database.ScalarAsync<Guid>($"SELECT id FROM alto.rule WHERE tenant_id = '{host.TenantId}'")).ToString(),
            ["{userId}"] = user.GetProperty("id").GetString()!,
            ["{locator}"] = stub.Split(' ')[0],
            ["{sha256}"] = stub.Split(' ')[1],
            ["{orphan}"] = PlannedHost.Locator(host.TenantId, "an object no record names"),
        });
    }

    [Fact]
    public async Task NoHostileValueInAnOtherwiseSoundRequestIsAServerError()
    {
        var world = await WorldAsync();
        var names = world.Names;
        using var admin = fixture.ClientFor("platform-admin");
        using var agent = world.Host.AgentClient(fixture);

        var withoutSoundRequest = new List<string>();
        var unsound = new List<string>();
        var (calls, serverErrors) = await HostileInputSweepTests.SweepAsync(admin, agent, world.FillPath,
            (method, url, template, operation, schemas) =>
            {
                if (method == "GET")
                {
                    // A read of things that exist, with each query value hostile.
                    return HostileInputSweepTests.Requests(method, url, operation, schemas);
                }
                if (!operation.TryGetProperty("requestBody", out var body) || !body.GetProperty("content").TryGetProperty("application/json", out _))
                {
                    return [];
                }
                if (!SoundRequests.TryGetValue($"{method} {template}", out var sound))
                {
                    withoutSoundRequest.Add($"{method} {template}");
                    return [];
                }
                return Requests(method, url + Fill(sound.Query, names, Guid.Empty), Fill(sound.Body, names, Guid.Empty));
            },
            (operation, what, response) =>
            {
                if (what == SoundRequest && !(response.IsSuccessStatusCode || RefusedSoundRequests.GetValueOrDefault(operation) == response.StatusCode))
                {
                    unsound.Add($"{operation}: {(int)response.StatusCode}");
                }
                return Task.CompletedTask;
            });

        Assert.True(withoutSoundRequest.Count == 0, "no sound request is written for " + string.Join(", ", withoutSoundRequest));
        // A sound request that is refused would leave its values checked only as far as its own fault.
        Assert.True(unsound.Count == 0, "sound requests refused: " + string.Join(", ", unsound));
        Assert.True(calls > 1000, $"only {calls} calls were made");
        Assert.True(serverErrors.Count == 0, string.Join("\n", serverErrors.Take(30)));
    }

    /// <summary>
    /// A listing part as the agent packs it, broken anywhere (by the network, or by a hostile host),
    /// sent to a run listing its target: each is taken or refused with 4xx, never a server error.
    /// </summary>
    [Fact]
    public async Task NoBrokenPackedListingPartIsAServerError()
    {
        var world = await WorldAsync();
        using var agent = world.Host.AgentClient(fixture);
        var tenant = world.Host.TenantId;
        var packed = ListingPartFormat.Write(new ListingPart(null,
        [
            new ListingEntry(PlannedHost.Locator(tenant, "a"), 1000, DateTimeOffset.UtcNow.AddDays(-2), null, false),
            new ListingEntry(PlannedHost.Locator(tenant, "b"), 0, null, "its bytes hash to something else", true),
        ], Finished: false, Failure: null));
        byte[][] tokens = [[0], [0xFF], [0x80, 0x80, 0x80, 0x80, 0x80], [1], [0xC3, 0x28], "ALP1"u8.ToArray(), "../"u8.ToArray()];
        var random = new Random(20261207);
        var serverErrors = new List<string>();
        var answers = new Dictionary<string, int> { ["taken"] = 0, ["refused"] = 0 };
        for (var i = 0; i < 500; i++)
        {
            using var content = new ByteArrayContent(ByteDamage.Mangle(packed, random, tokens));
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(ListingPartFormat.ContentType);
            using var response = await agent.PostAsync(new Uri($"/api/v1/agents/reconcile-runs/{world.ListingRun}/listing", UriKind.Relative), content);
            if ((int)response.StatusCode >= 500)
            {
                serverErrors.Add($"case {i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            answers[response.IsSuccessStatusCode ? "taken" : "refused"]++;
        }
        Assert.True(serverErrors.Count == 0, string.Join("\n", serverErrors.Take(20)));
        // The breaks reach the run: some parts still read and are judged there, the others are refused.
        Assert.True(answers.Values.All(count => count > 0), string.Join(", ", answers));
    }

    /// <summary>
    /// Every operation called with its sound request by one tenant's admin (and the agents' own by
    /// its host) naming another tenant's things — that tenant's host, target, rule, user or run in
    /// the path under the caller's tenant, or in the body: a rule's target and host, a cost model's
    /// target, a census fact's target, a trail batch's volume, a stub's locator — is refused, and
    /// the other tenant's things are as they were. A platform admin reaches every tenant, but a
    /// tenant's rule still cannot name another's target, nor its path another's host.
    /// </summary>
    [Theory]
    [InlineData("tenant-admin")]
    [InlineData("platform-admin")]
    public async Task NoRequestUnderOneTenantNamingAnothersThingsIsTaken(string role)
    {
        var own = await WorldAsync();
        var other = await WorldAsync();
        using var platform = fixture.ClientFor("platform-admin");
        var admin = platform;
        if (role == "tenant-admin")
        {
            var username = "own-admin-" + Guid.NewGuid().ToString("N")[..8];
            (await platform.PostAsJsonAsync("/api/v1/users", new { username, password = "a sound pass phrase 42", role, tenantIds = new[] { own.Host.TenantId } }))
                .EnsureSuccessStatusCode();
            admin = fixture.ClientFor(null);
            admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", await fixture.LoginAsync(username, "a sound pass phrase 42"));
        }
        using var caller = admin == platform ? null : admin;
        using var agent = own.Host.AgentClient(fixture);
        var before = await SnapshotAsync(other);

        // Each kind of the other tenant's things in turn among the caller's own, so that no check of another kind refuses the request first.
        var crossings = new (string Kind, World World)[]
        {
            ("host", own with { Names = Crossed(own, other, "{hostId}") }),
            ("target", own with { Names = Crossed(own, other, "{targetId}", "{targetPath}") }),
            ("rule", own with { Names = Crossed(own, other, "{ruleId}") }),
            ("job", own with { Names = Crossed(own, other, "{jobId}") }),
            ("user", own with { Names = Crossed(own, other, "{userId}") }),
            ("locator", own with { Names = Crossed(own, other, "{locator}", "{sha256}") }),
            ("run", own with { CensusRun = other.CensusRun, ListingRun = other.ListingRun }),
            ("free target", own with { FreeTarget = other.FreeTarget }),
        };
        var taken = new List<string>();
        var calls = 0;
        foreach (var (kind, crossed) in crossings)
        {
            var (made, serverErrors) = await HostileInputSweepTests.SweepAsync(admin, agent, crossed.FillPath,
                (method, url, template, _, _) =>
                {
                    // A platform admin manages (and reads) the users of every tenant.
                    if (role == "platform-admin" && template.StartsWith("/api/v1/users", StringComparison.Ordinal))
                    {
                        return [];
                    }
                    if (method == "GET")
                    {
                        return [(new HttpRequestMessage(HttpMethod.Get, url), url)];
                    }
                    if (!SoundRequests.TryGetValue($"{method} {template}", out var sound))
                    {
                        return [];
                    }
                    var query = Fill(sound.Query, crossed.Names, Guid.Empty);
                    var body = Fill(sound.Body, crossed.Names, Guid.Empty);
                    return [(new HttpRequestMessage(new HttpMethod(method), url + query) { Content = HostileInputSweepTests.Json(body) }, $"{url}{query} {body}")];
                },
                async (operation, what, response) =>
                {
                    // A stub check answers that it does not know the stub: a refusal, said in its body.
                    if (response.IsSuccessStatusCode && other.Ids.Any(id => what.Contains(id, StringComparison.Ordinal)) && !Observations.Contains((operation, kind))
                        && !(await response.Content.ReadAsStringAsync()).Contains("\"verdict\":\"unknown\"", StringComparison.Ordinal))
                    {
                        taken.Add($"{operation} ({(int)response.StatusCode}): {what}");
                    }
                });
            calls += made;
            Assert.True(serverErrors.Count == 0, string.Join("\n", serverErrors.Take(30)));
        }

        Assert.True(calls > 300, $"only {calls} calls were made");
        Assert.True(taken.Count == 0, "taken though they name another tenant's things:\n" + string.Join("\n", taken));
        Assert.Equal(before, await SnapshotAsync(other));
    }

    /// <summary>
    /// Reports of what an agent found on its disk: a census fact saying the stub at a path names
    /// another tenant's object or target states what is there, and becomes a finding (the stub
    /// names another object); nothing is done with what it names.
    /// </summary>
    private static readonly HashSet<(string Operation, string Kind)> Observations =
        [("POST /api/v1/agents/reconcile-runs/{runId}/stubs", "target"), ("POST /api/v1/agents/reconcile-runs/{runId}/stubs", "locator")];

    /// <summary>The world's names with the other world's for the given ones.</summary>
    private static Dictionary<string, string> Crossed(World own, World other, params string[] names)
    {
        var crossed = new Dictionary<string, string>(own.Names);
        foreach (var name in names)
        {
            crossed[name] = other.Names[name];
        }
        return crossed;
    }

    /// <summary>What the world's tenant holds that a request could change: its hosts, rules, targets, runs, records and user.</summary>
    private Task<string> SnapshotAsync(World world) => fixture.Database.ScalarAsync<string>($"""
        SELECT concat_ws(' | ',
            (SELECT string_agg(concat_ws(',', id, name, volumes::text, updated_at), ';' ORDER BY id) FROM alto.host WHERE tenant_id = '{world.Host.TenantId}'),
            (SELECT string_agg(concat_ws(',', id, name, priority, target_id, host_id, criteria::text, updated_at), ';' ORDER BY id) FROM alto.rule WHERE tenant_id = '{world.Host.TenantId}'),
            (SELECT string_agg(concat_ws(',', id, name, settings::text, enabled, updated_at), ';' ORDER BY id) FROM alto.storage_target WHERE tenant_id = '{world.Host.TenantId}'),
            (SELECT string_agg(concat_ws(',', id, status, cursor_key, objects_listed), ';' ORDER BY id) FROM alto.reconcile_run WHERE tenant_id = '{world.Host.TenantId}'),
            (SELECT string_agg(concat_ws(',', id, state, locator, last_accessed_utc), ';' ORDER BY id) FROM alto.tier_object WHERE tenant_id = '{world.Host.TenantId}'),
            (SELECT string_agg(concat_ws(',', id, status, cancel_requested_at, last_error), ';' ORDER BY id) FROM alto.tiering_job WHERE tenant_id = '{world.Host.TenantId}'),
            (SELECT concat_ws(',', disabled, session_version, updated_at) FROM alto.app_user WHERE id = '{world.Names["{userId}"]}'))
        """);

    /// <summary>The sound request, then one for each value in it (at any depth) replaced by each hostile value.</summary>
    private static IEnumerable<(HttpRequestMessage Request, string What)> Requests(string method, string url, string soundBody)
    {
        var sound = JsonNode.Parse(soundBody)!;
        yield return (new HttpRequestMessage(new HttpMethod(method), url) { Content = HostileInputSweepTests.Json(soundBody) }, SoundRequest);
        foreach (var place in Places(sound, ""))
        {
            foreach (var value in HostileInputSweepTests.HostileValues)
            {
                // The value goes in as written: some (half a surrogate pair) are JSON no node holds.
                var body = sound.DeepClone();
                Replace(body, place, JsonValue.Create(Marker));
                var text = body.ToJsonString().Replace($"\"{Marker}\"", value, StringComparison.Ordinal);
                yield return (new HttpRequestMessage(new HttpMethod(method), url) { Content = HostileInputSweepTests.Json(text) },
                    $"{place} = {HostileInputSweepTests.Shorten(value)}");
            }
        }
    }

    /// <summary>Stands in the body for the hostile value, which replaces it in the body's text.</summary>
    private const string Marker = "hostile-value-b7f3";

    /// <summary>Every value's place in the body, as a JSON path (a.b[0].c).</summary>
    private static IEnumerable<string> Places(JsonNode? node, string at)
    {
        switch (node)
        {
            case JsonObject properties:
                foreach (var (name, value) in properties)
                {
                    var place = at.Length == 0 ? name : $"{at}.{name}";
                    yield return place;
                    foreach (var inner in Places(value, place))
                    {
                        yield return inner;
                    }
                }
                break;
            case JsonArray elements:
                for (var i = 0; i < elements.Count; i++)
                {
                    yield return $"{at}[{i}]";
                    foreach (var inner in Places(elements[i], $"{at}[{i}]"))
                    {
                        yield return inner;
                    }
                }
                break;
        }
    }

    /// <summary>Puts <paramref name="value"/> at the place (as <see cref="Places"/> spells it) in the body.</summary>
    private static void Replace(JsonNode body, string place, JsonNode? value)
    {
        var steps = System.Text.RegularExpressions.Regex.Matches(place, @"[^.\[\]]+|\[(\d+)\]").Select(match => match.Value).ToList();
        var parent = body;
        foreach (var step in steps[..^1])
        {
            parent = step.StartsWith('[') ? parent[int.Parse(step[1..^1], System.Globalization.CultureInfo.InvariantCulture)]! : parent[step]!;
        }
        var last = steps[^1];
        if (last.StartsWith('['))
        {
            parent[int.Parse(last[1..^1], System.Globalization.CultureInfo.InvariantCulture)] = value;
        }
        else
        {
            parent[last] = value;
        }
    }

    /// <summary>The text with the sweep's names in it, a run's id for {runId}, a new id for each {newId} and a new word for each {unique}.</summary>
    private static string Fill(string text, Dictionary<string, string> names, Guid runId)
    {
        foreach (var (name, value) in names)
        {
            text = text.Replace(name, value, StringComparison.Ordinal);
        }
        text = text.Replace("{runId}", runId.ToString(), StringComparison.Ordinal);
        text = Fresh(text, "{newId}", () => Guid.NewGuid().ToString());
        return Fresh(text, "{unique}", () => Guid.NewGuid().ToString("N")[..8]);
    }

    private static string Fresh(string text, string name, Func<string> value)
    {
        for (var at = text.IndexOf(name, StringComparison.Ordinal); at >= 0; at = text.IndexOf(name, StringComparison.Ordinal))
        {
            text = text[..at] + value() + text[(at + name.Length)..];
        }
        return text;
    }

    private static async Task<Guid> StartRunAsync(HttpClient admin, Guid tenantId, Guid targetId) =>
        (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/targets/{targetId}/reconcile", new { depth = "list" })).AssertJsonAsync(HttpStatusCode.Accepted))
        .GetProperty("runId").GetGuid();

    private async Task StatusAsync(Guid runId, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.reconcile_run WHERE id = '{runId}'") != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"run {runId} did not reach {status}");
            await Task.Delay(50);
        }
    }
}
