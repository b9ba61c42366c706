using System.CommandLine;
using Alto.Agent.Enrollment;

namespace Alto.Agent.Cli;

/// <summary><c>alto-agent enroll --gateway URL --token TOKEN</c>: become this host's agent.</summary>
public static class EnrollCommand
{
    public static Command Create()
    {
        var gateway = UrlOption.Create("--gateway", "The gateway's HTTP address", "http://127.0.0.1:8080");
        var grpc = UrlOption.Create("--grpc", "The gateway's gRPC (h2c) address", "http://127.0.0.1:8081");
        var token = new Option<string>("--token") { Description = "The one-time enrollment token from host registration", Required = true };
        var stateDirectory = AgentOptions.StateDirectory();
        var command = new Command("enroll", "Exchange a one-time enrollment token for this host's credential (stored with mode 0600)")
        {
            gateway, grpc, token, stateDirectory,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            try
            {
                var credentials = await new EnrollmentClient(http).EnrollAsync(
                    parse.GetUri(gateway), parse.GetUri(grpc), parse.GetValue(token)!, cancellationToken);
                var directory = parse.GetValue(stateDirectory)!;
                await credentials.SaveAsync(directory, cancellationToken);
                Console.WriteLine($"enrolled as host {credentials.HostId} of tenant {credentials.TenantId}");
                Console.WriteLine($"credential stored in {AgentCredentials.PathIn(directory)} (mode 0600)");
                return 0;
            }
            catch (EnrollmentException exception)
            {
                await Console.Error.WriteLineAsync($"alto-agent enroll: {exception.Message}");
                return 2;
            }
            catch (UnauthorizedAccessException exception)
            {
                await Console.Error.WriteLineAsync($"alto-agent enroll: cannot write the credential: {exception.Message}");
                return 3;
            }
        });
        return command;
    }
}
