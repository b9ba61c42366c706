using System.CommandLine;
using Alto.Agent.Connection;
using Alto.Agent.Enrollment;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Alto.Agent.Cli;

/// <summary><c>alto-agent run</c>: the long-running agent (a systemd service on Linux).</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var stateDirectory = AgentOptions.StateDirectory();
        var noGuard = AgentOptions.NoGuard();
        var recallStall = AgentOptions.RecallStallSeconds();
        var recallsAtOnce = AgentOptions.RecallsAtOnce();
        var folderStall = AgentOptions.FolderStallSeconds();
        var unsettledRetry = AgentOptions.UnsettledRetrySeconds();
        var command = new Command("run", "Run the agent: hold the session with the gateway until stopped (SIGTERM or Ctrl-C)")
        {
            stateDirectory, noGuard, recallStall, recallsAtOnce, folderStall, unsettledRetry,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            AgentCredentials? credentials;
            try
            {
                credentials = await AgentCredentials.LoadAsync(parse.GetValue(stateDirectory)!, cancellationToken);
            }
            catch (InvalidDataException exception)
            {
                await Console.Error.WriteLineAsync($"alto-agent run: {exception.Message}");
                return 2;
            }
            if (credentials is null)
            {
                await Console.Error.WriteLineAsync("alto-agent run: not enrolled; run alto-agent enroll first");
                return 2;
            }
            var builder = Host.CreateApplicationBuilder();
            // Each is a no-op unless running under its service manager.
            builder.Services.AddSystemd();
            builder.Services.AddWindowsService(service => service.ServiceName = "AltoAgent");
            builder.Services.AddSingleton(credentials);
            builder.Services.AddSingleton(new AgentStateDirectory(parse.GetValue(stateDirectory)!));
            builder.Services.AddSingleton(new AgentRunSettings(
                parse.GetValue(noGuard) ? Recall.RecallGuarding.Off : Recall.RecallGuarding.Auto,
                new Recall.RecallLimits(TimeSpan.FromSeconds(parse.GetValue(recallStall)), parse.GetValue(recallsAtOnce)),
                TimeSpan.FromSeconds(parse.GetValue(folderStall)), TimeSpan.FromSeconds(parse.GetValue(unsettledRetry))));
            builder.Services.AddHostedService<AgentWorker>();
            using var host = builder.Build();
            await host.RunAsync(cancellationToken);
            return Environment.ExitCode;
        });
        return command;
    }
}
