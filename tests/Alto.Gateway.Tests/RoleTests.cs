using System.Net;
using System.Net.Http.Json;

namespace Alto.Gateway.Tests;

/// <summary>Each role against each kind of request, in tenant A (its own) and tenant B (not its own).</summary>
[Collection(GatewayCollection.Name)]
public sealed class RoleTests(GatewayFixture fixture)
{
    [Theory]
    // Creating tenants is for platform admins only.
    [InlineData("platform-admin", "POST", "/api/v1/tenants", "tenant", HttpStatusCode.Created)]
    [InlineData("tenant-admin", "POST", "/api/v1/tenants", "tenant", HttpStatusCode.Forbidden)]
    [InlineData("support", "POST", "/api/v1/tenants", "tenant", HttpStatusCode.Forbidden)]
    [InlineData("viewer", "POST", "/api/v1/tenants", "tenant", HttpStatusCode.Forbidden)]
    // Everyone reads its own tenant; another tenant does not exist for them.
    [InlineData("platform-admin", "GET", "/api/v1/tenants/{B}", null, HttpStatusCode.OK)]
    [InlineData("tenant-admin", "GET", "/api/v1/tenants/{A}", null, HttpStatusCode.OK)]
    [InlineData("tenant-admin", "GET", "/api/v1/tenants/{B}", null, HttpStatusCode.NotFound)]
    [InlineData("support", "GET", "/api/v1/tenants/{A}", null, HttpStatusCode.OK)]
    [InlineData("support", "GET", "/api/v1/tenants/{B}/hosts", null, HttpStatusCode.NotFound)]
    [InlineData("viewer", "GET", "/api/v1/tenants/{A}/hosts", null, HttpStatusCode.OK)]
    [InlineData("viewer", "GET", "/api/v1/tenants/{A}/targets", null, HttpStatusCode.OK)]
    [InlineData("viewer", "GET", "/api/v1/tenants/{B}/targets", null, HttpStatusCode.NotFound)]
    // Changing a tenant, its hosts and targets: platform and tenant admins.
    [InlineData("tenant-admin", "PATCH", "/api/v1/tenants/{A}", "rename", HttpStatusCode.OK)]
    [InlineData("support", "PATCH", "/api/v1/tenants/{A}", "rename", HttpStatusCode.Forbidden)]
    [InlineData("viewer", "PATCH", "/api/v1/tenants/{A}", "rename", HttpStatusCode.Forbidden)]
    [InlineData("tenant-admin", "PATCH", "/api/v1/tenants/{B}", "rename", HttpStatusCode.NotFound)]
    [InlineData("tenant-admin", "POST", "/api/v1/tenants/{A}/hosts", "host", HttpStatusCode.Created)]
    [InlineData("support", "POST", "/api/v1/tenants/{A}/hosts", "host", HttpStatusCode.Forbidden)]
    [InlineData("viewer", "POST", "/api/v1/tenants/{A}/hosts", "host", HttpStatusCode.Forbidden)]
    [InlineData("tenant-admin", "POST", "/api/v1/tenants/{B}/hosts", "host", HttpStatusCode.NotFound)]
    [InlineData("tenant-admin", "POST", "/api/v1/tenants/{A}/targets", "target", HttpStatusCode.Created)]
    [InlineData("support", "POST", "/api/v1/tenants/{A}/targets", "target", HttpStatusCode.Forbidden)]
    [InlineData("viewer", "POST", "/api/v1/tenants/{A}/targets", "target", HttpStatusCode.Forbidden)]
    // Disabling tenants is for platform admins only.
    [InlineData("tenant-admin", "POST", "/api/v1/tenants/{A}/disable", null, HttpStatusCode.Forbidden)]
    [InlineData("support", "POST", "/api/v1/tenants/{A}/disable", null, HttpStatusCode.Forbidden)]
    // Users: platform and tenant admins.
    [InlineData("platform-admin", "GET", "/api/v1/users", null, HttpStatusCode.OK)]
    [InlineData("tenant-admin", "GET", "/api/v1/users", null, HttpStatusCode.OK)]
    [InlineData("support", "GET", "/api/v1/users", null, HttpStatusCode.Forbidden)]
    [InlineData("viewer", "POST", "/api/v1/users", "viewer-in-A", HttpStatusCode.Forbidden)]
    [InlineData("tenant-admin", "POST", "/api/v1/users", "viewer-in-A", HttpStatusCode.Created)]
    [InlineData("tenant-admin", "POST", "/api/v1/users", "viewer-in-B", HttpStatusCode.BadRequest)]
    [InlineData("tenant-admin", "POST", "/api/v1/users", "platform-admin", HttpStatusCode.Forbidden)]
    public async Task EachRoleIsAllowedOrDeniedAsSpecified(string role, string method, string path, string? body, HttpStatusCode expected)
    {
        using var client = fixture.ClientFor(role);
        var request = new HttpRequestMessage(new HttpMethod(method), path
            .Replace("{A}", fixture.TenantA.ToString(), StringComparison.Ordinal)
            .Replace("{B}", fixture.TenantB.ToString(), StringComparison.Ordinal));
        if (body is not null)
        {
            request.Content = JsonContent.Create(Body(body));
        }

        var response = await client.SendAsync(request);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{role} {method} {path}: expected {(int)expected}, got {(int)response.StatusCode} {text}");
    }

    [Fact]
    public async Task ScopedUsersSeeOnlyUsersOfTheirTenants()
    {
        using var tenantAdmin = fixture.ClientFor("tenant-admin");
        var users = await (await tenantAdmin.GetAsync(new Uri("/api/v1/users?pageSize=500", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.All(users.GetProperty("items").EnumerateArray(), user =>
            Assert.Contains(fixture.TenantA, user.GetProperty("tenantIds").EnumerateArray().Select(t => t.GetGuid())));
        Assert.DoesNotContain(users.GetProperty("items").EnumerateArray(), user => user.GetProperty("username").GetString() == "admin");
    }

    private object Body(string kind)
    {
        var unique = Guid.NewGuid().ToString("N")[..10];
        return kind switch
        {
            "tenant" => new { name = "role-" + unique },
            "rename" => new { description = "changed by " + unique },
            "host" => new { name = "role-host-" + unique },
            "target" => new { name = "role-target-" + unique, kind = "path", settings = new { path = "/mnt/" + unique } },
            "viewer-in-A" => new { username = "u-" + unique, password = GatewayFixture.UserPassword, role = "viewer", tenantIds = new[] { fixture.TenantA } },
            "viewer-in-B" => new { username = "u-" + unique, password = GatewayFixture.UserPassword, role = "viewer", tenantIds = new[] { fixture.TenantB } },
            "platform-admin" => new { username = "u-" + unique, password = GatewayFixture.UserPassword, role = "platform-admin" },
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
    }
}
