using System.Net;
using System.Text.RegularExpressions;

namespace Alto.Gateway.Tests;

/// <summary>
/// The web console as the gateway serves it (scripts/test.sh builds web/ first): its page at / and
/// on its own routes, its scripts, under the strict content security policy, and never in place
/// of an API answer.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed partial class ConsoleTests(GatewayFixture fixture)
{
    [Fact]
    public async Task TheConsolesPageAndScriptsAreServedWithoutSigningInAndTheApiStillAnswersForItself()
    {
        using var anonymous = fixture.ClientFor(null);
        foreach (var path in new[] { "/", "/sign-in", $"/tenants/{Guid.NewGuid()}" })
        {
            var page = await anonymous.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            var html = await page.Content.ReadAsStringAsync();
            Assert.Contains("<div id=\"root\"></div>", html, StringComparison.Ordinal);
            var script = Assert.Single(ScriptSource().Matches(html)).Groups[1].Value;
            var code = await anonymous.GetAsync(new Uri(script, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, code.StatusCode);
            Assert.Equal("text/javascript", code.Content.Headers.ContentType?.MediaType);
        }
        // An API path that does not exist is the API's 404 (a problem), not the console's page.
        using var signedIn = fixture.ClientFor("viewer");
        var missing = await signedIn.GetAsync(new Uri("/api/v1/no-such-thing", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.DoesNotContain("<div id=\"root\">", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [GeneratedRegex("<script type=\"module\" crossorigin src=\"([^\"]+)\"")]
    private static partial Regex ScriptSource();
}
