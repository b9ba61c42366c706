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
        var command = new Command("status", "Check that the gateway answers on HTTP and gRPC and that its cluster is ready") { gateway, grpc };
        command.SetAction(async (parse, cancellationToken) =>
        {
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
