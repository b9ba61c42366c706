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

    /// <summary>How long a recall waits while tier 2 sends nothing before the program that opened the stub gets EIO.</summary>
    public static Option<int> RecallStallSeconds()
    {
        var option = new Option<int>("--recall-stall-seconds")
        {
            Description = "Give a recall up when tier 2 sends nothing for this long (the opener gets EIO, the file stays a stub)",
            DefaultValueFactory = _ => (int)Tiering.StallGuardStream.DefaultLimit.TotalSeconds,
        };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 3600)
            {
                result.AddError("--recall-stall-seconds must be between 1 and 3600");
            }
        });
        return option;
    }
}
