using Alto.Agent.Connection;
using Alto.TestSupport;

namespace Alto.Agent.Tests;

/// <summary>One real gateway process shared by the probe tests.</summary>
public sealed class RunningGateway : IAsyncLifetime
{
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync() => Gateway = await GatewayProcess.StartAsync("agent_probe", TimeSpan.FromSeconds(90));

    public async Task DisposeAsync()
    {
        // A gateway that failed to start leaves nothing to stop; its start-up failure is the test's error.
        if (Gateway is { } gateway)
        {
            await gateway.DisposeAsync();
        }
    }
}

/// <summary>The agent's probe against a real gateway process over real loopback sockets.</summary>
public sealed class GatewayProbeTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task ARunningGatewayAnswersOnHttpAndOnItsSeparateGrpcPort()
    {
        using var http = new HttpClient();
        var status = await new GatewayProbe(http).ProbeAsync(_gateway.HttpUrl, _gateway.GrpcUrl, CancellationToken.None);

        Assert.True(status.Healthy, status.ToString());
        // An anonymous caller learns the verdict, not which parts stand behind it.
        Assert.Equal("status: Healthy", status.ReadinessReport);
    }

    [Fact]
    public async Task TheHttp1PortDoesNotServeGrpc()
    {
        using var http = new HttpClient();
        var status = await new GatewayProbe(http).ProbeAsync(_gateway.HttpUrl, _gateway.HttpUrl, CancellationToken.None);

        Assert.True(status.Alive);
        Assert.False(status.GrpcServing, status.GrpcReport);
    }

    [Fact]
    public async Task AnUnreachableGatewayIsReportedNotThrown()
    {
        using var http = new HttpClient();
        var closed = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
        var status = await new GatewayProbe(http).ProbeAsync(closed, closed, CancellationToken.None);

        Assert.False(status.Alive);
        Assert.False(status.Ready);
        Assert.False(status.GrpcServing);
    }
}
