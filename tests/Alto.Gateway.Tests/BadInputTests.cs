using System.Net;
using System.Text;

namespace Alto.Gateway.Tests;

/// <summary>
/// Bad requests get 400 with a problem-details body that names what is wrong, and write nothing:
/// the counts of tenants, hosts, targets and users are the same before and after.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class BadInputTests(GatewayFixture fixture)
{
    [Theory]
    [InlineData("POST", "/api/v1/tenants", "{\"name\": \"broken", "detail")]
    [InlineData("POST", "/api/v1/tenants", "not json at all", "detail")]
    [InlineData("POST", "/api/v1/tenants", "{}", "name")]
    [InlineData("POST", "/api/v1/tenants", "{\"name\": \"   \"}", "name")]
    [InlineData("POST", "/api/v1/tenants", "{\"name\": \"LONG\"}", "name")]
    [InlineData("POST", "/api/v1/tenants", "{\"name\": \"ok-name\", \"nmae\": \"typo\"}", "detail")]
    [InlineData("POST", "/api/v1/tenants", "{\"name\": \"tab\\there\"}", "name")]
    [InlineData("POST", "/api/v1/tenants", "{\"name\": 42}", "detail")]
    [InlineData("POST", "/api/v1/tenants", "{\"name\": \"first\", \"name\": \"second\"}", "detail")]
    [InlineData("POST", "/api/v1/tenants", "{\"name\": \"first\", \"Name\": \"second\"}", "detail")]
    [InlineData("POST", "/api/v1/tenants", "{\"name\": \"acme\\u202Eevil\"}", "name")]
    [InlineData("POST", "/api/v1/tenants", "{\"name\": \"ac\\u200Bme\"}", "name")]
    [InlineData("POST", "/api/v1/tenants/{A}/targets", "{\"name\": \"tier\\u2066two\", \"kind\": \"path\", \"settings\": {\"path\": \"/mnt/t\"}}", "name")]
    [InlineData("PATCH", "/api/v1/tenants/{A}", "{}", "body")]
    [InlineData("PATCH", "/api/v1/tenants/{A}", "{\"name\": \"LONG\"}", "name")]
    [InlineData("POST", "/api/v1/tenants/{A}/hosts", "{}", "name")]
    [InlineData("POST", "/api/v1/tenants/{A}/hosts", "{\"name\": \"fs 01\"}", "name")]
    [InlineData("POST", "/api/v1/tenants/{A}/hosts", "{\"name\": \"fs01\", \"os\": \"beos\"}", "os")]
    [InlineData("POST", "/api/v1/tenants/{A}/hosts", "{\"name\": \"fs01\", \"volumes\": [\"relative/path\"]}", "volumes[0]")]
    [InlineData("POST", "/api/v1/tenants/{A}/hosts", "{\"name\": \"fs01\", \"volumes\": [\"/a\", \"/a\"]}", "volumes")]
    [InlineData("POST", "/api/v1/tenants/{A}/targets", "{\"name\": \"t\", \"kind\": \"tape\", \"settings\": {}}", "kind")]
    [InlineData("POST", "/api/v1/tenants/{A}/targets", "{\"name\": \"t\", \"settings\": {}}", "kind")]
    [InlineData("POST", "/api/v1/tenants/{A}/targets", "{\"name\": \"t\", \"kind\": \"path\"}", "settings")]
    [InlineData("POST", "/api/v1/tenants/{A}/targets", "{\"name\": \"t\", \"kind\": \"path\", \"settings\": {\"path\": \"tier2\"}}", "settings.path")]
    [InlineData("POST", "/api/v1/tenants/{A}/targets", "{\"name\": \"t\", \"kind\": \"path\", \"settings\": {\"path\": \"/mnt/t\", \"bucket\": \"b\"}}", "settings.bucket")]
    [InlineData("POST", "/api/v1/tenants/{A}/targets", "{\"name\": \"t\", \"kind\": \"path\", \"settings\": {\"path\": \"/mnt/t\"}, \"credentials\": {\"accessKeyId\": \"x\"}}", "credentials")]
    [InlineData("POST", "/api/v1/tenants/{A}/targets", "{\"name\": \"t\", \"kind\": \"s3\", \"settings\": {}}", "settings.bucket")]
    [InlineData("POST", "/api/v1/tenants/{A}/targets", "{\"name\": \"t\", \"kind\": \"s3\", \"settings\": {\"bucket\": \"Bad_Bucket\"}}", "settings.bucket")]
    [InlineData("POST", "/api/v1/tenants/{A}/targets", "{\"name\": \"t\", \"kind\": \"s3\", \"settings\": {\"bucket\": \"ok-bucket\", \"endpoint\": \"ftp://x\"}}", "settings.endpoint")]
    [InlineData("POST", "/api/v1/tenants/{A}/targets", "{\"name\": \"t\", \"kind\": \"s3\", \"settings\": {\"bucket\": \"ok-bucket\"}, \"credentials\": {\"accessKeyId\": \"only-half\"}}", "credentials.secretAccessKey")]
    [InlineData("POST", "/api/v1/tenants/{A}/targets", "{\"name\": \"t\", \"kind\": \"azure\", \"settings\": {\"container\": \"tier2\"}}", "credentials.connectionString")]
    [InlineData("POST", "/api/v1/tenants/{A}/targets", "{\"name\": \"t\", \"kind\": \"s3\", \"settings\": {\"bucket\": \"ok-bucket\", \"prefix\": \"../escape\"}}", "settings.prefix")]
    [InlineData("POST", "/api/v1/users", "{\"username\": \"new-user\", \"password\": \"short\", \"role\": \"viewer\", \"tenantIds\": [\"{A}\"]}", "password")]
    [InlineData("POST", "/api/v1/users", "{\"username\": \"new-user\", \"password\": \"long-enough-pass\", \"role\": \"king\", \"tenantIds\": [\"{A}\"]}", "role")]
    [InlineData("POST", "/api/v1/users", "{\"username\": \"new-user\", \"password\": \"long-enough-pass\", \"role\": \"viewer\"}", "tenantIds")]
    [InlineData("GET", "/api/v1/tenants?page=0", null, "page")]
    [InlineData("GET", "/api/v1/tenants?pageSize=100000", null, "pageSize")]
    [InlineData("GET", "/api/v1/tenants?page=abc", null, "detail")]
    [InlineData("GET", "/api/v1/tenants?status=deleted", null, "status")]
    public async Task BadInputIsABadRequestThatWritesNothing(string method, string path, string? body, string field)
    {
        using var admin = fixture.ClientFor("platform-admin");
        var before = await CountRowsAsync();
        var request = new HttpRequestMessage(new HttpMethod(method), Expand(path));
        if (body is not null)
        {
            request.Content = new StringContent(Expand(body).Replace("LONG", new string('x', 101), StringComparison.Ordinal), Encoding.UTF8, "application/json");
        }

        var response = await admin.SendAsync(request);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        if (field == "detail")
        {
            // Framework-level refusals (unparsable JSON, wrong types) still say what was wrong.
            Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        }
        else
        {
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out var messages), $"no error for '{field}': {problem}");
            Assert.NotEmpty(messages.EnumerateArray());
        }
        Assert.Equal(before, await CountRowsAsync());
    }

    /// <summary>What the JSON reader or the query binding refused, said in the request's terms: never the server's own type names.</summary>
    [Theory]
    [InlineData("/api/v1/tenants", "{\"name\": \"ok-name\", \"nmae\": \"typo\"}", "unknown property 'nmae'")]
    [InlineData("/api/v1/tenants", "{\"name\": 42}", "the value at $.name is not")]
    [InlineData("/api/v1/tenants/{A}/hosts", "{\"name\": \"fs01\", \"volumes\": \"/data\"}", "the value at $.volumes is not a list")]
    [InlineData("/api/v1/users", "{\"username\": \"u1\", \"password\": \"long-enough-pass\", \"role\": \"viewer\", \"tenantIds\": [\"not-a-uuid\"]}", "is not a UUID")]
    [InlineData("/api/v1/tenants", "{\"name\": \"broken", "")]
    [InlineData("/api/v1/tenants?page=abc", null, "the parameter 'page' ('abc') is not a whole number")]
    [InlineData("/api/v1/tenants/{A}/inventory/search?hostId=xyz", null, "the parameter 'hostId' ('xyz') is not a UUID")]
    [InlineData("/api/v1/tenants/{A}/audit?from=yesterday", null, "the parameter 'from' ('yesterday') is not an ISO 8601 time")]
    public async Task RefusedInputIsExplainedInTheRequestsTermsNotTheServersTypes(string path, string? body, string expected)
    {
        using var admin = fixture.ClientFor("platform-admin");
        var url = new Uri(Expand(path), UriKind.Relative);

        var response = body is null ? await admin.GetAsync(url) : await admin.PostAsync(url, new StringContent(Expand(body), Encoding.UTF8, "application/json"));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains(expected, detail, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("Alto.", detail, StringComparison.Ordinal);
        Assert.DoesNotContain(".NET", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("Nullable", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownTenantIdInTheUrlIsNotFoundNotAnError()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var response = await admin.GetAsync(new Uri("/api/v1/tenants/not-a-guid", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private string Expand(string text) => text
        .Replace("{A}", fixture.TenantA.ToString(), StringComparison.Ordinal)
        .Replace("{B}", fixture.TenantB.ToString(), StringComparison.Ordinal);

    private async Task<string> CountRowsAsync() => string.Join(",",
        await fixture.Database.CountAsync("SELECT count(*) FROM alto.tenant"),
        await fixture.Database.CountAsync("SELECT count(*) FROM alto.host"),
        await fixture.Database.CountAsync("SELECT count(*) FROM alto.storage_target"),
        await fixture.Database.CountAsync("SELECT count(*) FROM alto.app_user"),
        await fixture.Database.CountAsync("SELECT count(*) FROM orleans.grain_state"));
}
