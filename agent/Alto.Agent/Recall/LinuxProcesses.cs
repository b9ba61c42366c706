using System.Globalization;
using System.Runtime.Versioning;

namespace Alto.Agent.Recall;

/// <summary>What <c>/proc</c> tells of the process behind an event.</summary>
[SupportedOSPlatform("linux")]
internal static class LinuxProcesses
{
    /// <summary>
    /// The real user id of <paramref name="process"/> (the first number of the <c>Uid:</c> line
    /// of its <c>status</c>): real rather than effective, so a user running a
    /// set-user-id program is still counted as themself. <see cref="RecallSlots.UnknownUser"/>
    /// when it cannot be told: no process given (0), or it has ended.
    /// </summary>
    public static uint RealUser(int process)
    {
        if (process <= 0)
        {
            return RecallSlots.UnknownUser;
        }
        try
        {
            foreach (var line in File.ReadLines($"/proc/{process}/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    return fields.Length > 1 && uint.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var user)
                        ? user
                        : RecallSlots.UnknownUser;
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Ended while its open waited to be read: whoever it was, nothing more of it waits.
        }
        return RecallSlots.UnknownUser;
    }
}
