using System.Globalization;
using System.Runtime.Versioning;

namespace Alto.Agent.Recall;

/// <summary>What <c>/proc</c> tells of the process behind an event.</summary>
[SupportedOSPlatform("linux")]
internal static class LinuxProcesses
{
    /// <summary>
    /// The user <paramref name="process"/> opens files as: its file-system user id, the last number
    /// of the <c>Uid:</c> line of its <c>status</c> (real, effective, saved, file system). That is
    /// the user the kernel checks its opens against, and it follows the effective user id: a file
    /// server such as Samba keeps its real user id root and takes each client's user as its
    /// effective one, and a set-user-id program opens as its owner. <see cref="RecallAdmission.UnknownUser"/>
    /// when it cannot be told: no process given (0), or it has ended.
    /// </summary>
    public static uint FileSystemUser(int process)
    {
        if (process <= 0)
        {
            return RecallAdmission.UnknownUser;
        }
        try
        {
            foreach (var line in File.ReadLines($"/proc/{process}/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    return fields.Length == 5 && uint.TryParse(fields[4], NumberStyles.None, CultureInfo.InvariantCulture, out var user)
                        ? user
                        : RecallAdmission.UnknownUser;
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Ended while its open waited to be read: whoever it was, nothing more of it waits.
        }
        return RecallAdmission.UnknownUser;
    }
}
