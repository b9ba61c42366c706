using System.Collections.Concurrent;
using Alto.Agent.Connection;
using Alto.Protocol.Agent.V1;
using Alto.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Tests;

/// <summary>
/// Two silos and two gateways (Orleans clients) as real processes on one database: commands
/// issued through either gateway reach the agent wherever its session is, and survive the loss
/// of the gateway that held it.
/// </summary>
public sealed class MultiGatewayTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task CommandsFollowTheAgentAcrossGatewaysAndSurviveLosingOne()
    {
        await using var database = await TestDatabase.CreateAsync("gateways");
        await database.MigrateAsync();
        const string cluster = "gateways";
        await using var silo1 = await SiloProcess.StartAsync(database, cluster, Patience);
        await using var silo2 = await SiloProcess.StartAsync(database, cluster, Patience);
        var client = new Dictionary<string, string> { ["Alto__Gateway__CoHostSilo"] = "false" };
        await using var gatewayA = await GatewayProcess.StartAsync(database, cluster, client, Patience);
        await using var gatewayB = await GatewayProcess.StartAsync(database, cluster, client, Patience);

        var agent = await AgentEnrollment.EnrollNewHostAsync(gatewayA, "/");
        using var adminB = await AdminApi.SignInAsync(gatewayB.HttpUrl, GatewayProcess.AdminPassword);
        var received = new ConcurrentQueue<GatewayMessage>();
        using var stop = new CancellationTokenSource();
        var connection = new AgentConnection(agent, () => [], NullLogger<AgentConnection>.Instance,
            (message, _) => { received.Enqueue(message); return Task.CompletedTask; },
            backoffCap: TimeSpan.FromSeconds(2), gatewayEndpoints: [gatewayA.GrpcUrl, gatewayB.GrpcUrl]);
        var run = connection.RunAsync(stop.Token);
        await adminB.WaitForHostAsync(agent.TenantId, agent.HostId, host => host.GetProperty("status").GetString() == "online", Patience);
        Assert.Equal(gatewayA.GrpcUrl, connection.State.Gateway);

        // Issued through B, delivered to the session held by A.
        var viaB = await adminB.PostAsync($"/api/v1/tenants/{agent.TenantId}/hosts/{agent.HostId}/scan", new { paths = new[] { "/via-b" } });
        Assert.True(viaB.GetProperty("delivered").GetBoolean());
        await WaitUntilAsync(() => received.Count == 1);

        // Gateway A is killed (SIGKILL); commands issued meanwhile wait, then arrive once, in order, on B.
        System.Diagnostics.Process.GetProcessById(gatewayA.Run.ProcessId).Kill();
        await gatewayA.DisposeAsync();
        var second = await adminB.PostAsync($"/api/v1/tenants/{agent.TenantId}/hosts/{agent.HostId}/scan", new { paths = new[] { "/second" } });
        var third = await adminB.PostAsync($"/api/v1/tenants/{agent.TenantId}/hosts/{agent.HostId}/scan", new { paths = new[] { "/third" } });
        await adminB.WaitForHostAsync(agent.TenantId, agent.HostId,
            host => host.GetProperty("status").GetString() == "online" && host.GetProperty("pendingCommands").GetInt32() == 0, Patience);

        Assert.Equal(gatewayB.GrpcUrl, connection.State.Gateway);
        Assert.Equal(
            [viaB.GetProperty("commandId").GetString(), second.GetProperty("commandId").GetString(), third.GetProperty("commandId").GetString()],
            received.Select(message => message.Id));
        await stop.CancelAsync();
        await run;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(50);
        }
    }
}
