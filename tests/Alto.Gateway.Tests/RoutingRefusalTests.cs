using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Alto.Gateway.Errors;

namespace Alto.Gateway.Tests;

/// <summary>
/// A request whose path matched but whose body type or method the endpoint does not take is
/// answered 415 or 405 with a reason, whoever sends it; an agent with a valid host credential was
/// answered 401, as if its credential were wrong. Nothing is staged either way.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class RoutingRefusalTests(GatewayFixture fixture)
{
    [Fact]
    public async Task AnAgentsBodyOfTheWrongTypeIsA415NotA401()
    {
        using var agent = await AgentAsync();
        var batches = await fixture.Database.CountAsync("SELECT count(*) FROM alto.audit_update_batch");

        var response = await agent.PostAsync(new Uri("/api/v1/audit-updates", UriKind.Relative),
            new StringContent("{\"updates\": []}", Encoding.UTF8, "text/plain"));

        var problem = await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("'text/plain; charset=utf-8'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(batches, await fixture.Database.CountAsync("SELECT count(*) FROM alto.audit_update_batch"));
    }

    [Fact]
    public async Task AMethodAPathDoesNotTakeIsA405WithItsAllowHeader()
    {
        using var agent = await AgentAsync();

        var response = await agent.GetAsync(new Uri("/api/v1/audit-updates", UriKind.Relative));

        var problem = await response.AssertProblemAsync(HttpStatusCode.MethodNotAllowed);
        Assert.Equal("this path does not take GET (see the API reference)", problem.GetProperty("detail").GetString());
        Assert.Contains("POST", response.Content.Headers.Allow);
    }

    [Fact]
    public async Task WithTheRightTypeAndMethodTheCredentialIsStillChecked()
    {
        using var anonymous = fixture.CreateClient();
        using var forged = fixture.CreateClient();
        forged.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "alto_host_" + Guid.NewGuid().ToString("N") + "_" + new string('x', 43));

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/v1/audit-updates", new { updates = Array.Empty<object>() })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.PostAsJsonAsync("/api/v1/audit-updates", new { updates = Array.Empty<object>() })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantA}/hosts", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public void TheFrameworksEndpointNamesAreTheOnesAnswered()
    {
        // The names of the endpoints routing makes for these answers: a framework that renames them fails here first.
        var assembly = typeof(Microsoft.AspNetCore.Routing.EndpointDataSource).Assembly;
        Assert.Equal(RoutingRefusals.UnsupportedMediaType, Constant(assembly, "Microsoft.AspNetCore.Routing.Matching.AcceptsMatcherPolicy", "Http415EndpointDisplayName"));
        Assert.Equal(RoutingRefusals.MethodNotAllowed, Constant(assembly, "Microsoft.AspNetCore.Routing.Matching.HttpMethodMatcherPolicy", "Http405EndpointDisplayName"));
    }

    private static string? Constant(System.Reflection.Assembly assembly, string type, string field) =>
        assembly.GetType(type)?.GetField(field, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)?.GetValue(null) as string;

    private async Task<HttpClient> AgentAsync() => fixture.AgentClient(
        await fixture.EnrollHostAsync(fixture.TenantA, new { name = "routing-" + Guid.NewGuid().ToString("N")[..10], os = "linux", volumes = new[] { "/srv" } }));
}
