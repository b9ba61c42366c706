using System.Net;
using System.Net.Http.Json;

namespace Alto.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class TenantApiTests(GatewayFixture fixture)
{
    [Fact]
    public async Task ATenantIsCreatedReadListedUpdatedDisabledAndEnabled()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var name = "acme-" + Guid.NewGuid().ToString("N")[..8];

        var created = await admin.PostAsJsonAsync("/api/v1/tenants", new { name, description = "Acme Corp" });
        var tenant = await created.AssertJsonAsync(HttpStatusCode.Created);
        var id = tenant.GetProperty("id").GetGuid();
        Assert.Equal($"/api/v1/tenants/{id}", created.Headers.Location?.OriginalString);
        Assert.Equal("active", tenant.GetProperty("status").GetString());

        var read = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{id}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(name, read.GetProperty("name").GetString());

        var list = await (await admin.GetAsync(new Uri("/api/v1/tenants?pageSize=500", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Contains(list.GetProperty("items").EnumerateArray(), item => item.GetProperty("id").GetGuid() == id);

        var renamed = await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{id}", new { name = name + "-renamed" })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(name + "-renamed", renamed.GetProperty("name").GetString());
        Assert.Equal("Acme Corp", renamed.GetProperty("description").GetString());

        var disabled = await (await admin.PostAsync(new Uri($"/api/v1/tenants/{id}/disable", UriKind.Relative), null)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("disabled", disabled.GetProperty("status").GetString());
        var onlyDisabled = await (await admin.GetAsync(new Uri("/api/v1/tenants?status=disabled&pageSize=500", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Contains(onlyDisabled.GetProperty("items").EnumerateArray(), item => item.GetProperty("id").GetGuid() == id);
        Assert.All(onlyDisabled.GetProperty("items").EnumerateArray(), item => Assert.Equal("disabled", item.GetProperty("status").GetString()));

        var enabled = await (await admin.PostAsync(new Uri($"/api/v1/tenants/{id}/enable", UriKind.Relative), null)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("active", enabled.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ListsPage()
    {
        using var admin = fixture.ClientFor("platform-admin");
        for (var i = 0; i < 3; i++)
        {
            await GatewayFixture.CreateTenantAsync(admin, $"paged-{i}-{Guid.NewGuid():N}"[..20]);
        }

        var first = await (await admin.GetAsync(new Uri("/api/v1/tenants?page=1&pageSize=2", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        var second = await (await admin.GetAsync(new Uri("/api/v1/tenants?page=2&pageSize=2", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);

        Assert.Equal(2, first.GetProperty("items").GetArrayLength());
        Assert.True(first.GetProperty("total").GetInt64() >= 5);
        var firstIds = first.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetGuid());
        var secondIds = second.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetGuid());
        Assert.Empty(firstIds.Intersect(secondIds));
    }

    [Fact]
    public async Task ATakenNameIsAConflictAndChangesNothing()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var name = "taken-" + Guid.NewGuid().ToString("N")[..8];
        await GatewayFixture.CreateTenantAsync(admin, name);
        var before = await fixture.Database.CountAsync("SELECT count(*) FROM alto.tenant");

        await (await admin.PostAsJsonAsync("/api/v1/tenants", new { name = name.ToUpperInvariant() })).AssertProblemAsync(HttpStatusCode.Conflict);

        Assert.Equal(before, await fixture.Database.CountAsync("SELECT count(*) FROM alto.tenant"));
    }

    [Fact]
    public async Task AnUnknownTenantIsNotFound()
    {
        using var admin = fixture.ClientFor("platform-admin");
        await (await admin.GetAsync(new Uri($"/api/v1/tenants/{Guid.NewGuid()}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{Guid.NewGuid()}", new { name = "x" })).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ScopedUsersListOnlyTheirTenants()
    {
        using var viewer = fixture.ClientFor("viewer");
        var list = await (await viewer.GetAsync(new Uri("/api/v1/tenants?pageSize=500", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal([fixture.TenantA], list.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetGuid()));
        Assert.Equal(1, list.GetProperty("total").GetInt64());
    }
}
