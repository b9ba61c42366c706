using Microsoft.Extensions.Logging;

namespace Alto.Agent.Cli;

/// <summary>
/// The log of a command that works by itself (<c>tier</c>, <c>recover</c>, <c>recall --target</c>):
/// warnings and errors of the recall it holds and of its work, one line each on standard error,
/// so that what <c>run</c> would log (a volume not armed, a damaged state file) is not dropped
/// when an admin does the same by hand.
/// </summary>
internal static class CommandLog
{
    private static readonly Lazy<ILoggerFactory> Factory = new(() => LoggerFactory.Create(logging => logging
        .SetMinimumLevel(LogLevel.Warning)
        .AddSimpleConsole(console => console.SingleLine = true)
        .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)));

    public static ILogger Logger => Factory.Value.CreateLogger("alto-agent");

    /// <summary>Writes out what is still queued (the console logger writes from a thread of its own); called once the command has ended.</summary>
    public static void Flush()
    {
        if (Factory.IsValueCreated)
        {
            Factory.Value.Dispose();
        }
    }
}
