using System.Globalization;

namespace Alto.TestSupport;

/// <summary>
/// An agent's state folder as tests and benchmarks leave it: deleting it also ends the recall
/// guard it started (the guard serves a state folder and ends when the folder is gone), which is
/// waited for, so the volumes its group marked can be unmounted right after.
/// </summary>
public static class AgentStateFolder
{
    public const string GuardPidFile = "recall-guard.pid";

    public static async Task DeleteAsync(string stateDirectory)
    {
        var pidFile = Path.Combine(stateDirectory, GuardPidFile);
        var guard = File.Exists(pidFile) && int.TryParse(await File.ReadAllTextAsync(pidFile), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0;
        if (Directory.Exists(stateDirectory))
        {
            Directory.Delete(stateDirectory, recursive: true);
        }
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (guard > 0 && Directory.Exists($"/proc/{guard}") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
    }
}
