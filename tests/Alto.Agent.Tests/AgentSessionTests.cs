using System.Text.Json;
using Alto.Agent.Connection;
using Alto.Agent.Enrollment;
using Alto.Protocol.Agent.V1;
using Alto.TestSupport;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Tests;

/// <summary>Agent sessions on a real gateway's gRPC port: online and offline, and every kind of bad stream.</summary>
public sealed class AgentSessionTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task ARunningAgentIsOnlineWithItsMetricsAndGoesOfflineWhenItStops()
    {
        var agent = await EnrollAsync();
        using var stop = new CancellationTokenSource();
        var connection = new AgentConnection(agent, () => ["/"], NullLogger<AgentConnection>.Instance);
        var run = connection.RunAsync(stop.Token);

        var online = await WaitForHostAsync(agent, host => host.GetProperty("status").GetString() == "online"
                                                           && host.TryGetProperty("latestMetrics", out _));
        Assert.False(string.IsNullOrEmpty(online.GetProperty("agentVersion").GetString()));
        Assert.True(online.TryGetProperty("lastHeartbeatAt", out _));
        Assert.True(online.TryGetProperty("gateway", out _));
        Assert.True(online.GetProperty("latestMetrics").GetProperty("volumes")[0].GetProperty("totalBytes").GetInt64() > 0);
        Assert.True(connection.State.Connected);

        await stop.CancelAsync();
        await run;
        await WaitForHostAsync(agent, host => host.GetProperty("status").GetString() == "offline");
    }

    [Fact]
    public async Task ASessionThatStopsHeartbeatingGoesOfflineAfterTheTimeout()
    {
        var agent = await EnrollAsync();
        using var channel = GrpcChannel.ForAddress(_gateway.GrpcUrl);
        using var call = Connect(channel, agent.Credential);
        var silentSince = DateTime.UtcNow;
        await call.RequestStream.WriteAsync(Hello(agent.HostId));
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(GatewayMessage.BodyOneofCase.Welcome, call.ResponseStream.Current.BodyCase);
        await WaitForHostAsync(agent, host => host.GetProperty("status").GetString() == "online");

        // Connected but silent after its hello: offline once the 3 s heartbeat timeout has passed.
        await WaitForHostAsync(agent, host => host.GetProperty("status").GetString() == "offline");
        Assert.True(DateTime.UtcNow - silentSince >= TimeSpan.FromSeconds(2.5));
    }

    [Fact]
    public async Task EnrollingTheHostAgainEndsTheOldSessionAtOnce()
    {
        var agent = await EnrollAsync();
        using var channel = GrpcChannel.ForAddress(_gateway.GrpcUrl);
        using var call = Connect(channel, agent.Credential);
        await call.RequestStream.WriteAsync(Hello(agent.HostId));
        Assert.True(await call.ResponseStream.MoveNext());

        // No heartbeat is sent: only the host grain's revocation can end this stream.
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var renewed = await admin.PostAsync($"/api/v1/tenants/{agent.TenantId}/hosts/{agent.HostId}/enrollment-token", new { });
        using var http = new HttpClient();
        await new EnrollmentClient(http).EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl,
            renewed.GetProperty("enrollmentToken").GetString()!, CancellationToken.None);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var ended = await Assert.ThrowsAsync<RpcException>(async () => { while (await call.ResponseStream.MoveNext(timeout.Token)) { } });
        Assert.Equal(StatusCode.Unauthenticated, ended.StatusCode);
        Assert.Contains("enrolled again", ended.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASecondSessionReplacesTheFirst()
    {
        var agent = await EnrollAsync();
        using var channel = GrpcChannel.ForAddress(_gateway.GrpcUrl);
        using var first = Connect(channel, agent.Credential);
        await first.RequestStream.WriteAsync(Hello(agent.HostId));
        await first.ResponseStream.MoveNext();
        using var second = Connect(channel, agent.Credential);
        await second.RequestStream.WriteAsync(Hello(agent.HostId));
        await second.ResponseStream.MoveNext();

        // Ended at once, without waiting for the old session's next message.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var ended = await Assert.ThrowsAsync<RpcException>(async () => { while (await first.ResponseStream.MoveNext(timeout.Token)) { } });
        Assert.Equal(StatusCode.Aborted, ended.StatusCode);

        await second.RequestStream.WriteAsync(new AgentMessage { Id = "hb-2", Heartbeat = new Heartbeat() });
        Assert.True(await second.ResponseStream.MoveNext());
    }

    [Fact]
    public async Task BadStreamsEndWithAClearStatusWhileOtherSessionsGoOn()
    {
        var healthy = await EnrollAsync();
        using var stop = new CancellationTokenSource();
        var connection = new AgentConnection(healthy, () => [], NullLogger<AgentConnection>.Instance);
        var run = connection.RunAsync(stop.Token);
        await WaitForHostAsync(healthy, host => host.GetProperty("status").GetString() == "online");
        var other = await EnrollAsync();
        using var channel = GrpcChannel.ForAddress(_gateway.GrpcUrl);

        Assert.Equal(StatusCode.Unauthenticated, await EndStatusAsync(channel, credential: null, Hello(other.HostId)));
        Assert.Equal(StatusCode.Unauthenticated, await EndStatusAsync(channel, other.Credential[..^4] + "AAAA", Hello(other.HostId)));
        var unknownHost = Guid.NewGuid();
        Assert.Equal(StatusCode.Unauthenticated, await EndStatusAsync(channel, $"alto_host_{unknownHost:N}_{new string('A', 43)}", Hello(unknownHost)));
        Assert.Equal(StatusCode.PermissionDenied, await EndStatusAsync(channel, other.Credential, Hello(healthy.HostId)));
        Assert.Equal(StatusCode.InvalidArgument, await EndStatusAsync(channel, other.Credential, new AgentMessage { Id = "1", Heartbeat = new Heartbeat() }));
        var oversize = new Heartbeat();
        oversize.Volumes.Add(new VolumeSpace { Path = new string('x', 2 << 20) });
        Assert.Equal(StatusCode.ResourceExhausted,
            await EndStatusAsync(channel, other.Credential, Hello(other.HostId), new AgentMessage { Id = "big", Heartbeat = oversize }));
        var flood = Enumerable.Range(0, 400).Select(i => new AgentMessage { Id = $"f{i}", Heartbeat = new Heartbeat() });
        Assert.Equal(StatusCode.ResourceExhausted, await EndStatusAsync(channel, other.Credential, [Hello(other.HostId), .. flood]));

        // The well-behaved agent never noticed.
        Assert.True(connection.State.Connected);
        Assert.Equal(1, connection.State.Sessions);
        await stop.CancelAsync();
        await run;
    }

    private static AsyncDuplexStreamingCall<AgentMessage, GatewayMessage> Connect(GrpcChannel channel, string? credential) =>
        new AgentService.AgentServiceClient(channel).Connect(credential is null ? [] : new Metadata { { "authorization", "Bearer " + credential } });

    private static AgentMessage Hello(Guid hostId) =>
        new() { Id = Guid.NewGuid().ToString("N"), Hello = new Hello { HostId = hostId.ToString(), AgentVersion = "test", Os = "linux" } };

    /// <summary>Sends the messages and reads until the gateway ends the stream; returns its status.</summary>
    private static async Task<StatusCode> EndStatusAsync(GrpcChannel channel, string? credential, params AgentMessage[] messages)
    {
        using var call = Connect(channel, credential);
        try
        {
            foreach (var message in messages)
            {
                await call.RequestStream.WriteAsync(message);
            }
        }
        catch (Exception exception) when (exception is RpcException or InvalidOperationException)
        {
            // The gateway ended the call while we were still writing; its status is read below.
        }
        try
        {
            using var timeout = new CancellationTokenSource(Patience);
            while (await call.ResponseStream.MoveNext(timeout.Token))
            {
            }
            return call.GetStatus().StatusCode;
        }
        catch (RpcException exception)
        {
            return exception.StatusCode;
        }
    }

    private Task<AgentCredentials> EnrollAsync() => AgentEnrollment.EnrollNewHostAsync(_gateway, "/");

    private async Task<JsonElement> WaitForHostAsync(AgentCredentials agent, Func<JsonElement, bool> condition)
    {
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        return await admin.WaitForHostAsync(agent.TenantId, agent.HostId, condition, Patience);
    }
}
