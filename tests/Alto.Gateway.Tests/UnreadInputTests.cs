using System.Net;
using System.Text.Json;

namespace Alto.Gateway.Tests;

/// <summary>
/// A query parameter an endpoint does not read is refused (400, naming it), not ignored: a filter
/// misspelt would otherwise answer with every row unfiltered. The parameters the API document
/// declares for each operation are exactly those taken, so the refusal never hits a documented one.
/// A body sent where none is read is refused too, rather than dropped with the call answered as done.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class UnreadInputTests(GatewayFixture fixture)
{
    private const string Refused = "is not a query parameter of this endpoint";
    private const string BodyRefused = "this endpoint reads no body";

    [Fact]
    public async Task AMisspeltFilterIsRefusedNamingItAndWhatTheEndpointReads()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenantId = await GatewayFixture.CreateTenantAsync(admin, "query-" + Guid.NewGuid().ToString("N")[..8]);
        var jobs = $"/api/v1/tenants/{tenantId}/jobs";

        var problem = await (await admin.GetAsync($"{jobs}?state=failed")).AssertProblemAsync(HttpStatusCode.BadRequest);
        var message = problem.GetProperty("errors").GetProperty("state")[0].GetString()!;
        Assert.Contains(Refused, message, StringComparison.Ordinal);
        Assert.Contains("status", message, StringComparison.Ordinal);
        Assert.DoesNotContain("tenantId", message, StringComparison.Ordinal);

        // The names of a set of parameters bound together are listed as the API document spells them.
        var audit = await (await admin.GetAsync($"/api/v1/tenants/{tenantId}/audit?since=2026-12-01")).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.EndsWith("(it reads: action, actor, from, hostId, page, pageSize, pathPrefix, to)", audit.GetProperty("errors").GetProperty("since")[0].GetString(), StringComparison.Ordinal);

        // Query names are read regardless of case, as the framework binds them.
        await (await admin.GetAsync($"{jobs}?Status=failed&PAGESIZE=5")).AssertJsonAsync(HttpStatusCode.OK);
        await (await admin.GetAsync($"{jobs}?status=failed")).AssertJsonAsync(HttpStatusCode.OK);
    }

    /// <summary>
    /// Settings sent in a body to an endpoint that reads none were dropped and the call answered as
    /// done; now it is refused and nothing changes. The empty bodies clients send with a POST pass.
    /// </summary>
    [Fact]
    public async Task ABodySentWhereNoneIsReadIsRefusedAndNothingChanges()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenantId = await GatewayFixture.CreateTenantAsync(admin, "body-" + Guid.NewGuid().ToString("N")[..8]);
        var disable = $"/api/v1/tenants/{tenantId}/disable";

        var problem = await (await admin.PostAsync(disable, HostileInputSweepTests.Json("""{"reason":"unpaid"}"""))).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(BodyRefused, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var tenant = await (await admin.GetAsync($"/api/v1/tenants/{tenantId}")).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("active", tenant.GetProperty("status").GetString());

        // A body of more than the kilobyte looked at is refused whole too, never read in part as empty.
        var large = "{" + new string(' ', 4096) + "}";
        await (await admin.PostAsync(disable, HostileInputSweepTests.Json(large))).AssertProblemAsync(HttpStatusCode.BadRequest);

        await (await admin.PostAsync(disable, HostileInputSweepTests.Json(" { } "))).AssertJsonAsync(HttpStatusCode.OK);
        await (await admin.PostAsync($"/api/v1/tenants/{tenantId}/enable", null)).AssertJsonAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task EveryOperationTakesTheQueryParametersItsDocumentDeclaresAndRefusesAnyOther()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenantId = await GatewayFixture.CreateTenantAsync(admin, "query-" + Guid.NewGuid().ToString("N")[..8]);
        using var agent = fixture.AgentClient(await fixture.EnrollHostAsync(tenantId, new { name = "query-host", volumes = new[] { "/srv" } }));
        var wrong = new List<string>();
        var declaredChecked = 0;
        var unreadBodies = 0;
        var (calls, serverErrors) = await HostileInputSweepTests.SweepAsync(admin, agent,
            path => System.Text.RegularExpressions.Regex.Replace(path, @"\{(\w+)\}", match => match.Groups[1].Value == "tenantId" ? tenantId.ToString() : Guid.NewGuid().ToString()),
            (method, url, _, operation, _) => Requests(method, url, operation),
            async (operation, what, response) =>
            {
                var body = await response.Content.ReadAsStringAsync();
                if (what == "declared")
                {
                    declaredChecked++;
                    if (body.Contains(Refused, StringComparison.Ordinal))
                    {
                        wrong.Add($"{operation}: a declared parameter was refused: {HostileInputSweepTests.Shorten(body)}");
                    }
                }
                else if (what == "unread body")
                {
                    unreadBodies++;
                    if (response.StatusCode != HttpStatusCode.BadRequest || !body.Contains(BodyRefused, StringComparison.Ordinal))
                    {
                        wrong.Add($"{operation}: a body it does not read answered {(int)response.StatusCode} {HostileInputSweepTests.Shorten(body)}");
                    }
                }
                else if (what != "undeclared" || response.StatusCode != HttpStatusCode.BadRequest || !body.Contains("'bogusFilter' " + Refused, StringComparison.Ordinal))
                {
                    wrong.Add($"{operation} ({what}): ?bogusFilter answered {(int)response.StatusCode} {HostileInputSweepTests.Shorten(body)}");
                }
            });

        Assert.True(calls > 60, $"only {calls} calls were made: the API document was not read");
        Assert.True(declaredChecked > 20, $"only {declaredChecked} operations declare query parameters");
        Assert.True(unreadBodies > 30, $"only {unreadBodies} operations read no body");
        Assert.Empty(serverErrors);
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    /// <summary>
    /// The requests of one operation: every declared query parameter at once, each with a value of
    /// its declared kind (so that binding, which comes first, takes it); and, where it reads no body,
    /// an undeclared query parameter alone, then a body. Operations that read a body get none, so
    /// that only their query can be refused and nothing is made.
    /// </summary>
    private static IEnumerable<(HttpRequestMessage Request, string What)> Requests(string method, string url, JsonElement operation)
    {
        var declared = operation.TryGetProperty("parameters", out var parameters)
            ? parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query").ToList()
            : [];
        if (declared.Count > 0)
        {
            var query = string.Join("&", declared.Select(p => $"{p.GetProperty("name").GetString()}={ValueOf(p.GetProperty("schema"))}"));
            yield return (new HttpRequestMessage(new HttpMethod(method), $"{url}?{query}"), "declared");
        }
        if (!operation.TryGetProperty("requestBody", out _))
        {
            // The document says the operation may answer so.
            var documented = operation.TryGetProperty("responses", out var responses) && responses.TryGetProperty("400", out _);
            yield return (new HttpRequestMessage(new HttpMethod(method), $"{url}?bogusFilter=1"), documented ? "undeclared" : "undeclared, no 400 in the document");
            // A body where the operation reads none is refused before anything is done (a scan's chunk is a
            // stream its handler reads itself: the document names no body for it).
            if (url != "/api/v1/scan-results")
            {
                yield return (new HttpRequestMessage(new HttpMethod(method), url) { Content = HostileInputSweepTests.Json("""{"expiresInHours":1}""") }, "unread body");
            }
        }
    }

    private static string ValueOf(JsonElement schema)
    {
        var kind = schema.TryGetProperty("items", out var items) ? items : schema;
        var type = kind.TryGetProperty("type", out var t) ? t.ToString() : "";
        var format = kind.TryGetProperty("format", out var f) ? f.GetString() : null;
        return format switch
        {
            "uuid" => Guid.NewGuid().ToString(),
            "date-time" => "2026-12-01T00:00:00Z",
            "date" => "2026-12-01",
            _ when type.Contains("integer", StringComparison.Ordinal) || type.Contains("number", StringComparison.Ordinal) => "1",
            _ when type.Contains("boolean", StringComparison.Ordinal) => "true",
            _ => "x",
        };
    }
}
