using System.CommandLine;

namespace Alto.Agent.Cli;

/// <summary>Options several commands share.</summary>
public static class AgentOptions
{
    /// <summary>Where the agent keeps its credential and scan state.</summary>
    public static Option<string> StateDirectory() => NotEmpty(new Option<string>("--state-dir")
    {
        Description = "Folder for the agent's credential and state (ALTO_AGENT_STATE_DIR)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ALTO_AGENT_STATE_DIR") is { Length: > 0 } configured
            ? configured
            : DefaultStateDirectory,
    });

    /// <summary>The option, refusing an empty value (<c>--state-dir ""</c>, a variable that was not set) or one holding NUL, by name.</summary>
    public static Option<string> NotEmpty(Option<string> option)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is not { Length: > 0 } value || value.Contains('\0', StringComparison.Ordinal))
            {
                result.AddError($"{option.Name} may not be empty");
            }
        });
        return option;
    }

    /// <summary>The paths argument, refusing an empty path (<c>""</c>, a variable that was not set) by name instead of taking it for the current folder or failing later.</summary>
    public static Argument<string[]> NoEmptyPath(Argument<string[]> paths)
    {
        paths.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string[]>()?.Any(path => path.Length == 0 || path.Contains('\0', StringComparison.Ordinal)) == true)
            {
                result.AddError($"a {paths.Name} may not be empty");
            }
        });
        return paths;
    }

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
    public static Option<int> RecallStallSeconds() => Seconds(
        "--recall-stall-seconds", "Give a recall up when tier 2 sends nothing for this long (the opener gets EIO, the file stays a stub)",
        Tiering.StallGuardStream.DefaultLimit);

    /// <summary>How many recalls on open read tier 2 at the same time; further opens of stubs wait their turn.</summary>
    public static Option<int> RecallsAtOnce()
    {
        var option = new Option<int>("--recalls-at-once")
        {
            Description = "Recall at most this many stubs at the same time; programs opening more wait their turn (a virus scanner or a backup opening thousands side by side)",
            DefaultValueFactory = _ => Recall.RecallLimits.DefaultAtOnce,
        };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > Recall.RecallLimits.MostAtOnce)
            {
                result.AddError($"--recalls-at-once must be between 1 and {Recall.RecallLimits.MostAtOnce}");
            }
        });
        return option;
    }

    /// <summary>How long a call into a folder target (a mounted share) may make no progress before tier 2 counts as unavailable.</summary>
    public static Option<int> FolderStallSeconds() => Seconds(
        "--folder-stall-seconds",
        "Give a call into a folder target up when it makes no progress for this long (its files are reported unavailable and kept); raise it for a share whose failover takes longer",
        Tiering.PathTierStore.DefaultStallLimit);

    /// <summary>How often the agent tries again to settle a file left between original and stub (one it could not write).</summary>
    public static Option<int> UnsettledRetrySeconds() => Seconds(
        "--unsettled-retry-seconds",
        "Try again this often to settle a file left between original and stub because it could not be written (a volume mounted read-only, chattr +i)",
        Jobs.UnsettledRetry.DefaultPeriod);

    /// <summary>A number of seconds from 1 to 3600.</summary>
    private static Option<int> Seconds(string name, string description, TimeSpan defaultValue)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => (int)defaultValue.TotalSeconds };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 3600)
            {
                result.AddError($"{name} must be between 1 and 3600");
            }
        });
        return option;
    }
}
