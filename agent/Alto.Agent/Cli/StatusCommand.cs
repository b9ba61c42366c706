using System.CommandLine;
using Alto.Agent.Connection;

namespace Alto.Agent.Cli;

/// <summary><c>alto-agent status</c>: is the gateway reachable on both ports, and is the cluster behind it ready?</summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var gateway = UrlOption.Create("--gateway", "The gateway's HTTP address (REST, health)", "http://127.0.0.1:8080");
        var grpc = UrlOption.Create("--grpc", "The gateway's gRPC (h2c) address for agent sessions", "http://127.0.0.1:8081");
        var stateDirectory = AgentOptions.StateDirectory();
        var command = new Command("status", "The running agent's session, and whether the gateway answers on HTTP and gRPC") { gateway, grpc, stateDirectory };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (await AgentStatusSnapshot.ReadAsync(parse.GetValue(stateDirectory)!, cancellationToken) is { } agent)
            {
                Console.WriteLine($"agent:          {agent.AgentVersion}, {(agent.Connected ? "connected" : "not connected")} to {agent.Gateway ?? "-"} (session {agent.SessionId ?? "-"}, {agent.Sessions} session(s) so far)");
                Console.WriteLine($"last heartbeat: {agent.LastHeartbeatSent?.ToString("u", System.Globalization.CultureInfo.InvariantCulture) ?? "never"}; command queue {agent.QueueDepth}; status written {agent.WrittenAt:u}");
                if (agent.LastError is { } error)
                {
                    Console.WriteLine($"last error:     {error}");
                }
            }
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var status = await new GatewayProbe(http).ProbeAsync(parse.GetUri(gateway), parse.GetUri(grpc), cancellationToken);
            Console.WriteLine($"gateway alive:  {Word(status.Alive)}");
            Console.WriteLine($"cluster ready:  {Word(status.Ready)} ({status.ReadinessReport})");
            Console.WriteLine($"agent channel:  {Word(status.GrpcServing)} (gRPC health {status.GrpcReport})");
            return status.Healthy ? 0 : 1;
        });
        return command;
    }

    private static string Word(bool ok) => ok ? "yes" : "NO";
}
