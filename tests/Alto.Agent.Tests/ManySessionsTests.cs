using Alto.Agent.Connection;
using Alto.Agent.Enrollment;
using Alto.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Tests;

/// <summary>Two hundred agents heartbeating on one gateway at once.</summary>
[Collection(RunAloneCollection.Name)]
public sealed class ManySessionsTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private const int Agents = 200;
    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task TwoHundredSessionsAreOnlineTogetherAndOfflineWhenTheyStop()
    {
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenant = await admin.CreateTenantAsync($"fleet-{Guid.NewGuid():N}"[..20]);
        using var http = new HttpClient();
        var enrollment = new EnrollmentClient(http);
        var agents = new List<AgentCredentials>();
        for (var i = 0; i < Agents; i++)
        {
            var (_, token) = await admin.RegisterHostAsync(tenant, $"fs{i:D3}");
            agents.Add(await enrollment.EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl, token, CancellationToken.None));
        }

        using var stop = new CancellationTokenSource();
        var connections = agents.Select(agent => new AgentConnection(agent, () => [], NullLogger<AgentConnection>.Instance)).ToList();
        var runs = connections.Select(connection => connection.RunAsync(stop.Token)).ToList();
        try
        {
            await WaitForStatusAsync(admin, tenant, "online");
            // Every agent heartbeats past the gateway's timeout (3 s in the test gateway): all are still connected, none reconnected.
            var pastTimeout = DateTimeOffset.UtcNow.AddSeconds(3.5);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (connections.Any(connection => connection.State.LastHeartbeatSent is not { } sent || sent < pastTimeout))
            {
                Assert.True(DateTime.UtcNow < deadline, "not every agent heartbeated past the gateway's timeout");
                await Task.Delay(100);
            }
            Assert.All(connections, connection => Assert.Equal((true, 1), (connection.State.Connected, connection.State.Sessions)));
        }
        finally
        {
            // Stopped whatever the outcome: two hundred sessions left running kept the gateway from stopping after a failure.
            await stop.CancelAsync();
            await Task.WhenAll(runs);
        }
        await WaitForStatusAsync(admin, tenant, "offline");
    }

    private static async Task WaitForStatusAsync(AdminApi admin, Guid tenant, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var page = await admin.GetAsync($"/api/v1/tenants/{tenant}/hosts?pageSize=500");
            var matching = page.GetProperty("items").EnumerateArray().Count(host => host.GetProperty("status").GetString() == status);
            if (matching == Agents)
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"{matching} of {Agents} hosts are {status}");
            await Task.Delay(200);
        }
    }
}
