using System.CommandLine;
using System.Reflection;
using Alto.Agent.Cli;

namespace Alto.Agent;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var version = typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var root = new RootCommand($"Alto host agent {version}: scans file systems, tiers cold files, recalls stubs")
        {
            StatusCommand.Create(),
            EnrollCommand.Create(),
            ScanCommand.Create(),
            RunCommand.Create(),
            TierCommand.Create(),
            RecoverCommand.Create(),
            RecallCommand.Create(),
            GuardCommand.Create(),
        };
        // Names typed on the command line that are not UTF-8 keep their bytes (RawArguments).
        var exitCode = await root.Parse(RawArguments.Of(args)).InvokeAsync();
        CommandLog.Flush();
        return exitCode;
    }
}
