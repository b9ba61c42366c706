using System.CommandLine;

namespace Alto.Agent.Cli;

/// <summary>Options several commands share.</summary>
public static class AgentOptions
{
    /// <summary>Where the agent keeps its credential and scan state.</summary>
    public static Option<string> StateDirectory() => new("--state-dir")
    {
        Description = "Folder for the agent's credential and state (ALTO_AGENT_STATE_DIR)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ALTO_AGENT_STATE_DIR") is { Length: > 0 } configured
            ? configured
            : DefaultStateDirectory,
    };

    /// <summary>/var/lib/alto-agent on Linux; %ProgramData%\AltoAgent on Windows (its ACL: SYSTEM and Administrators only).</summary>
    public static string DefaultStateDirectory => OperatingSystem.IsWindows()
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "AltoAgent")
        : "/var/lib/alto-agent";

    /// <summary>Recall for this process only (tests, diagnosis): nothing is tiered, since stubs would read as holes once it stops.</summary>
    public static Option<bool> NoGuard() => new("--no-guard")
    {
        Description = "Hold recall without the recall guard: it stops with this process, so nothing is tiered",
    };
}
