using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Alto.TestSupport;

namespace Alto.Gateway.Tests;

public sealed partial class BootstrapAdminTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task TheFirstStartPrintsAGeneratedAdminPasswordOnceAndItWorks()
    {
        await using var database = await TestDatabase.CreateAsync("bootstrap");
        var generated = new Dictionary<string, string> { ["Alto__Auth__BootstrapAdminPassword"] = "" };

        string password;
        await using (var first = await GatewayProcess.StartAsync(database, "bootstrap", generated, Patience))
        {
            var match = PrintedPassword().Match(first.Run.Output);
            Assert.True(match.Success, first.Run.Output);
            password = match.Groups[1].Value;
            Assert.True(password.Length >= 20);
            // Printed on the console, never through the log pipeline.
            Assert.DoesNotContain(password, first.Run.Output.Split('\n').Where(line => line.Contains("warn:", StringComparison.Ordinal) || line.Contains("info:", StringComparison.Ordinal)));

            using var client = new HttpClient { BaseAddress = first.HttpUrl };
            var login = await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password });
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        }

        await using var second = await GatewayProcess.StartAsync(database, "bootstrap", generated, Patience);
        Assert.False(PrintedPassword().IsMatch(second.Run.Output), "a second start must not create or print another admin");
        Assert.Equal(1, await database.CountAsync("SELECT count(*) FROM alto.app_user WHERE role = 'platform-admin'"));
    }

    [GeneratedRegex(@"password:\s+(\S+)")]
    private static partial Regex PrintedPassword();
}
