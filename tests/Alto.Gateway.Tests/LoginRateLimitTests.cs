using System.Net;
using System.Net.Http.Json;
using Alto.TestSupport;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Alto.Gateway.Tests;

public sealed class LoginRateLimitTests
{
    [Fact]
    public async Task SignInAttemptsBeyondTheLimitAreTooManyRequests()
    {
        await using var database = await TestDatabase.CreateAsync("throttle");
        await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            GatewayFixture.UseTestSettings(builder, database);
            builder.UseSetting("Alto:Auth:LoginAttemptsPerMinute", "3");
        });
        using var client = factory.CreateClient();

        var answers = new List<HttpStatusCode>();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = "guess-number-" + attempt });
            answers.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized,
                      HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], answers);
        // Even the right password waits for the next window.
        var right = await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = GatewayFixture.AdminPassword });
        Assert.Equal(HttpStatusCode.TooManyRequests, right.StatusCode);
    }
}
