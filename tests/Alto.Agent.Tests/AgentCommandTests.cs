using System.Collections.Concurrent;
using System.Text.Json;
using Alto.Agent.Connection;
using Alto.Agent.Enrollment;
using Alto.Protocol.Agent.V1;
using Alto.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Tests;

/// <summary>Commands issued through the REST API reach the agent's session through its host grain.</summary>
public sealed class AgentCommandTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task AScanRequestReachesTheConnectedAgentAndIsAcknowledged()
    {
        var agent = await EnrollAsync();
        var received = new ConcurrentQueue<GatewayMessage>();
        using var stop = new CancellationTokenSource();
        var connection = new AgentConnection(agent, () => [], NullLogger<AgentConnection>.Instance, Record(received));
        var run = connection.RunAsync(stop.Token);
        await WaitForHostAsync(agent, host => host.GetProperty("status").GetString() == "online");

        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var receipt = await admin.PostAsync($"/api/v1/tenants/{agent.TenantId}/hosts/{agent.HostId}/scan", new { paths = new[] { "/srv/projects" } });

        Assert.True(receipt.GetProperty("delivered").GetBoolean());
        await WaitForHostAsync(agent, host => host.GetProperty("pendingCommands").GetInt32() == 0);
        var command = Assert.Single(received);
        Assert.Equal(receipt.GetProperty("commandId").GetString(), command.Id);
        Assert.Equal(["/srv/projects"], command.ScanRequest.Paths);
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task CommandsQueuedWhileTheAgentIsAwayArriveOnceInOrderWhenItConnects()
    {
        var agent = await EnrollAsync();
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var first = await admin.PostAsync($"/api/v1/tenants/{agent.TenantId}/hosts/{agent.HostId}/scan", new { paths = new[] { "/one" } });
        var second = await admin.PostAsync($"/api/v1/tenants/{agent.TenantId}/hosts/{agent.HostId}/scan", new { paths = new[] { "/two" }, format = "parquet" });
        Assert.False(first.GetProperty("delivered").GetBoolean());
        Assert.Equal(2, second.GetProperty("pending").GetInt32());

        var received = new ConcurrentQueue<GatewayMessage>();
        using var stop = new CancellationTokenSource();
        var run = new AgentConnection(agent, () => [], NullLogger<AgentConnection>.Instance, Record(received)).RunAsync(stop.Token);
        await WaitForHostAsync(agent, host => host.GetProperty("status").GetString() == "online"
                                              && host.GetProperty("pendingCommands").GetInt32() == 0);

        Assert.Equal([first.GetProperty("commandId").GetString(), second.GetProperty("commandId").GetString()], received.Select(message => message.Id));
        Assert.Equal("parquet", received.Last().ScanRequest.Format);
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task ACommandThisAgentCannotRunIsRefusedWithItsReasonNotTakenAsDone()
    {
        var agent = await EnrollAsync();
        // An agent that registered no scan handler, as on a platform that cannot scan yet.
        var handlers = new CommandHandlers().Register(GatewayMessage.BodyOneofCase.RecallRequest, (_, _) => Task.CompletedTask);
        using var stop = new CancellationTokenSource();
        var run = new AgentConnection(agent, () => [], NullLogger<AgentConnection>.Instance, handlers.HandleAsync).RunAsync(stop.Token);
        await WaitForHostAsync(agent, host => host.GetProperty("status").GetString() == "online");

        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var receipt = await admin.PostAsync($"/api/v1/tenants/{agent.TenantId}/hosts/{agent.HostId}/scan", new { paths = new[] { "/srv" } });
        await WaitForHostAsync(agent, host => host.GetProperty("pendingCommands").GetInt32() == 0);

        var error = await _gateway.Database.ScalarAsync<string>(
            $"SELECT details->>'error' FROM alto.audit_log WHERE action = 'host.command_failed' AND details->>'commandId' = '{receipt.GetProperty("commandId").GetString()}'");
        Assert.Contains("cannot run ScanRequest", error, StringComparison.Ordinal);
        Assert.Contains("RecallRequest", error, StringComparison.Ordinal);
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task ChangedVolumesArePushedToTheConnectedAgent()
    {
        var agent = await EnrollAsync();
        using var stop = new CancellationTokenSource();
        var connection = new AgentConnection(agent, () => [], NullLogger<AgentConnection>.Instance);
        var run = connection.RunAsync(stop.Token);
        // The registered volumes come with the session's first configuration.
        await WaitUntilAsync(() => connection.State.Volumes is ["/"]);

        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        await admin.PatchAsync($"/api/v1/tenants/{agent.TenantId}/hosts/{agent.HostId}", new { volumes = new[] { "/srv/a", "/srv/b" } });

        await WaitUntilAsync(() => connection.State.Volumes is ["/srv/a", "/srv/b"]);
        await stop.CancelAsync();
        await run;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the configuration did not arrive");
            await Task.Delay(50);
        }
    }

    private static Func<GatewayMessage, CancellationToken, Task> Record(ConcurrentQueue<GatewayMessage> received) => (message, _) =>
    {
        received.Enqueue(message);
        return Task.CompletedTask;
    };

    private Task<AgentCredentials> EnrollAsync() => AgentEnrollment.EnrollNewHostAsync(_gateway, "/");

    private async Task<JsonElement> WaitForHostAsync(AgentCredentials agent, Func<JsonElement, bool> condition)
    {
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        return await admin.WaitForHostAsync(agent.TenantId, agent.HostId, condition, Patience);
    }
}
