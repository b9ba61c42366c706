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
        var token = AgentOptions.NotEmpty(new Option<string>("--token") { Description = "The one-time enrollment token from host registration", Required = true });
        var stateDirectory = AgentOptions.StateDirectory();
        var command = new Command("enroll", "Exchange a one-time enrollment token for this host's credential (stored with mode 0600)")
        {
            gateway, grpc, token, stateDirectory,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var directory = parse.GetValue(stateDirectory)!;
            // Checked before the token is redeemed: a credential that cannot be stored is no use.
            if (WriteProblem(directory) is { } problem)
            {
                await Console.Error.WriteLineAsync(
                    $"alto-agent enroll: cannot write the state folder {directory} ({problem}); the token was not used. Run as root, or choose --state-dir");
                return 3;
            }
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            try
            {
                var client = new EnrollmentClient(http);
                var credentials = await client.EnrollAsync(parse.GetUri(gateway), parse.GetUri(grpc), parse.GetValue(token)!, cancellationToken);
                await credentials.SaveAsync(directory, cancellationToken);
                await client.ConfirmAsync(credentials, cancellationToken);
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

    /// <summary>Why this process cannot write <paramref name="directory"/>, or null when it can (found by writing a file and removing it).</summary>
    private static string? WriteProblem(string directory)
    {
        try
        {
            Tiering.PrivateFiles.EnsureStateDirectory(directory);
            var probe = Path.Combine(directory, $".write-check-{Environment.ProcessId}");
            using (File.Create(probe, 1, FileOptions.DeleteOnClose))
            {
            }
            return null;
        }
        catch (Exception exception) when (exception is UnauthorizedAccessException or IOException)
        {
            return exception.Message;
        }
    }
}
