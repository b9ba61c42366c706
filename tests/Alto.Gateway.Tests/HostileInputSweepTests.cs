using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Alto.Gateway.Tests;

/// <summary>
/// Every operation of the API document, called by a platform admin (the agents' own operations by
/// an enrolled host) with hostile input: bodies of
/// the wrong shape, every declared property (and each property of a list's elements) given a value of the wrong kind or absurd size, query
/// parameters past every limit. Whatever the operation, the answer is the caller's fault (4xx)
/// or a success, never a server error: a 500 would mean some input was not validated.
/// Deletions are left out (they would remove what later calls reach), and every call is made
/// inside a tenant of the sweep's own.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class HostileInputSweepTests(GatewayFixture fixture)
{
    private static readonly string Huge = new('x', 100_000);

    /// <summary>Values of the wrong kind or of absurd size for any property.</summary>
    internal static readonly string[] HostileValues =
    [
        "null", "true", "-1", "9223372036854775808", "1e308", "\"\"", "\"" + Huge + "\"", "\"\\u0000\"", "\"../../etc/passwd\"",
        "[]", "{}", "[[[[[[[[[[]]]]]]]]]]", "\"00000000-0000-0000-0000-000000000000\"", "\"9999-99-99T99:99:99Z\"",
        // A well-formed time with an offset: PostgreSQL's driver writes UTC instants only, so an unconverted one is a 500.
        "\"2026-12-04T10:00:00+02:00\"", "\"0001-01-01T00:00:00Z\"",
        // Half of a surrogate pair: JSON reads it, but it is no text (UTF-8 cannot carry it); numbers that are not, or not whole.
        "\"\\ud800\"", "\"NaN\"", "\"-Infinity\"", "1.5", "-0",
    ];

    /// <summary>Whole bodies of the wrong shape.</summary>
    private static readonly string[] HostileBodies =
    [
        "", "null", "[]", "\"text\"", "123", "{\"a\":" + new string('[', 200) + new string(']', 200) + "}", "{", "{}",
    ];

    /// <summary>Query values past every limit.</summary>
    private static readonly string[] HostileQueryValues =
        ["-1", "0", "99999999999999999999", "%00", "x", Uri.EscapeDataString(Huge[..5000]), "..%2F..%2Fetc", "2026-12-04T10:00:00%2B02:00", "0001-01-01T00:00:00Z"];

    [Fact]
    public async Task NoHostileInputToAnyOperationIsAServerError()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await (await admin.PostAsJsonAsync("/api/v1/tenants", new { name = "sweep-" + Guid.NewGuid().ToString("N")[..8] }))
            .AssertJsonAsync(HttpStatusCode.Created);
        var tenantId = tenant.GetProperty("id").GetGuid();
        // The agents' own operations are called with a host's credential, so that they too reach their validation.
        using var agent = fixture.AgentClient(await fixture.EnrollHostAsync(tenantId, new { name = "sweep-host", volumes = new[] { "/srv" } }));
        var (calls, serverErrors) = await SweepAsync(admin, agent, path => Fill(path, tenantId),
            (method, url, _, operation, schemas) => Requests(method, url, operation, schemas));

        Assert.True(calls > 500, $"only {calls} calls were made: the API document was not read");
        Assert.True(serverErrors.Count == 0, string.Join("\n", serverErrors.Take(30)));
    }

    /// <summary>The requests to make of one operation: its method, its path filled in, its path as the document spells it, the operation and the document's schemas.</summary>
    internal delegate IEnumerable<(HttpRequestMessage Request, string What)> RequestsOf(string method, string url, string template, JsonElement operation, JsonElement schemas);

    /// <summary>
    /// Calls every operation of the API document (but deletions and signing in and out) with the
    /// requests given for it, the agents' own as the host, the others as the admin; returns how many
    /// calls were made and each one answered with a server error. Each answer is also shown to
    /// <paramref name="answered"/>, with its operation ("METHOD path") and what the request held.
    /// </summary>
    internal static async Task<(int Calls, List<string> ServerErrors)> SweepAsync(HttpClient admin, HttpClient agent, Func<string, string> fill, RequestsOf requests,
        Func<string, string, HttpResponseMessage, Task>? answered = null)
    {
        using var document = JsonDocument.Parse(await admin.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");
        var serverErrors = new List<string>();
        var calls = 0;
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var method = operation.Name.ToUpperInvariant();
                if (method is "DELETE" || path.Name.Contains("/auth/", StringComparison.Ordinal))
                {
                    // Deletions would remove what later calls reach; signing out and in would end the sweep's own session.
                    continue;
                }
                var caller = IsAgentsOwn(path.Name) ? agent : admin;
                foreach (var (request, what) in requests(method, fill(path.Name), path.Name, operation.Value, schemas))
                {
                    calls++;
                    using var response = await caller.SendAsync(request);
                    if (answered is not null)
                    {
                        await answered($"{method} {path.Name}", what, response);
                    }
                    if ((int)response.StatusCode >= 500)
                    {
                        serverErrors.Add($"{method} {path.Name} with {what}: {(int)response.StatusCode} {Shorten(await response.Content.ReadAsStringAsync())}");
                    }
                }
            }
        }
        return (calls, serverErrors);
    }

    /// <summary>The operation's hostile requests, each with a word on what it holds.</summary>
    internal static IEnumerable<(HttpRequestMessage Request, string What)> Requests(string method, string url, JsonElement operation, JsonElement schemas)
    {
        var query = operation.TryGetProperty("parameters", out var parameters)
            ? parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query").Select(p => p.GetProperty("name").GetString()!).ToList()
            : [];
        foreach (var name in query)
        {
            foreach (var value in HostileQueryValues)
            {
                yield return (new HttpRequestMessage(new HttpMethod(method), $"{url}?{name}={value}") { Content = method == "GET" ? null : Json("{}") },
                    $"?{name}={Shorten(value)}");
            }
        }
        if (method == "GET" || !operation.TryGetProperty("requestBody", out var body)
            || !body.GetProperty("content").TryGetProperty("application/json", out var json))
        {
            if (method == "GET" && query.Count == 0)
            {
                yield return (new HttpRequestMessage(HttpMethod.Get, url), "no parameters");
            }
            yield break;
        }
        foreach (var whole in HostileBodies)
        {
            yield return (new HttpRequestMessage(new HttpMethod(method), url) { Content = Json(whole) }, $"the body {Shorten(whole)}");
        }
        foreach (var (property, propertySchema) in Properties(json.GetProperty("schema"), schemas))
        {
            foreach (var value in HostileValues)
            {
                yield return (new HttpRequestMessage(new HttpMethod(method), url) { Content = Json($"{{\"{property}\":{value}}}") },
                    $"{property} = {Shorten(value)}");
            }
            // Inside a list too: a folder of a list of folders, a property of a list's objects, each checked as its own.
            if (!Resolve(propertySchema, schemas).TryGetProperty("items", out var items))
            {
                continue;
            }
            var elements = Properties(items, schemas);
            foreach (var value in HostileValues)
            {
                if (elements.Count == 0)
                {
                    yield return (new HttpRequestMessage(new HttpMethod(method), url) { Content = Json($"{{\"{property}\":[{value}]}}") },
                        $"{property}[0] = {Shorten(value)}");
                }
                foreach (var (element, _) in elements)
                {
                    yield return (new HttpRequestMessage(new HttpMethod(method), url) { Content = Json($"{{\"{property}\":[{{\"{element}\":{value}}}]}}") },
                        $"{property}[0].{element} = {Shorten(value)}");
                }
            }
        }
    }

    /// <summary>The top-level properties of a request body's schema, with their own schemas.</summary>
    private static List<(string Name, JsonElement Schema)> Properties(JsonElement schema, JsonElement schemas) =>
        Resolve(schema, schemas).TryGetProperty("properties", out var properties) ? properties.EnumerateObject().Select(p => (p.Name, p.Value)).ToList() : [];

    /// <summary>The schema a reference names (the schema itself when it is none).</summary>
    private static JsonElement Resolve(JsonElement schema, JsonElement schemas) =>
        schema.TryGetProperty("$ref", out var reference) ? schemas.GetProperty(reference.GetString()!.Split('/')[^1]) : schema;

    /// <summary>The path with the sweep's tenant and unknown ids (or a word, for a parameter that is not an id) in it.</summary>
    private static string Fill(string template, Guid tenantId) =>
        System.Text.RegularExpressions.Regex.Replace(template, @"\{(\w+)\}", match => match.Groups[1].Value switch
        {
            "tenantId" => tenantId.ToString(),
            var name when name.EndsWith("Id", StringComparison.Ordinal) => Guid.NewGuid().ToString(),
            _ => "x",
        });

    private static bool IsAgentsOwn(string path) =>
        path.StartsWith("/api/v1/agents/", StringComparison.Ordinal) && path != "/api/v1/agents/enroll"
        || path.StartsWith("/api/v1/scan-results", StringComparison.Ordinal) || path.StartsWith("/api/v1/audit-updates", StringComparison.Ordinal);

    internal static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    internal static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "…";
}
