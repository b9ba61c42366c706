using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Alto.TestSupport;

namespace Alto.Gateway.Tests;

/// <summary>
/// The scale-out shape with real processes: two standalone silos and a gateway that is only an
/// Orleans client of them (Alto:Gateway:CoHostSilo=false), all on one database.
/// </summary>
public sealed class ClusterTopologyTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task AClientGatewayServesTheApiFromSeparateSilosAndSurvivesLosingOne()
    {
        // Declared first so it is dropped last, after every process using it has stopped.
        await using var database = await TestDatabase.CreateAsync("topology");
        await database.MigrateAsync();
        const string cluster = "topology";
        await using var first = await SiloProcess.StartAsync(database, cluster, Patience);
        await using var second = await SiloProcess.StartAsync(database, cluster, Patience);
        await using var gateway = await GatewayProcess.StartAsync(database, cluster,
            new Dictionary<string, string> { ["Alto__Gateway__CoHostSilo"] = "false" }, Patience);

        using var client = new HttpClient { BaseAddress = gateway.HttpUrl };
        var login = await client.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = GatewayProcess.AdminPassword });
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var ids = new List<Guid>();
        for (var i = 0; i < 8; i++)
        {
            var created = await client.PostAsJsonAsync("/api/v1/tenants", new { name = $"topology-{i}" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            ids.Add((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
        }
        // The gateway runs no silo: the only active silos are the two standalone ones.
        Assert.Equal(2, await database.CountAsync($"SELECT count(*) FROM orleans.membership WHERE deployment_id = '{cluster}' AND status = 3"));

        Assert.Equal(0, await second.Run.StopAsync(Patience));
        await second.DisposeAsync();

        foreach (var id in ids)
        {
            var read = await client.GetAsync(new Uri($"/api/v1/tenants/{id}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }
        Assert.Equal(1, await database.CountAsync(
            $"SELECT count(*) FROM orleans.membership WHERE deployment_id = '{cluster}' AND port = {second.SiloPort} AND status = 6"));
    }
}
