using System.Runtime.Versioning;
using Alto.Agent.Stubs;

namespace Alto.Agent.Connection;

/// <summary>
/// What the cluster may have the agent touch: paths below the host's registered volumes, judged
/// after every symbolic link and ".." is resolved on the host itself (the cluster cannot see
/// links), so a command naming /srv/share/../../etc or a link out of a volume is refused.
/// </summary>
[SupportedOSPlatform("linux")]
public static class VolumeScope
{
    /// <summary>Why <paramref name="path"/> is not the cluster's to touch, or null when it is below one of <paramref name="volumes"/>.</summary>
    public static string? Refusal(string path, IReadOnlyList<string> volumes)
    {
        if (volumes.Count == 0)
        {
            return "this host has no registered volumes";
        }
        // A file that does not exist (yet) is judged by its folder.
        var real = LinuxFiles.RealPath(path) ?? (Path.GetDirectoryName(path) is { } folder ? LinuxFiles.RealPath(folder) : null);
        if (real is null)
        {
            return $"{path} does not exist on this host";
        }
        foreach (var volume in volumes)
        {
            if (LinuxFiles.RealPath(volume) is { } top && IsWithin(real, top))
            {
                return null;
            }
        }
        return $"{path} is not below any of this host's volumes{(real != path ? $" (it is {real})" : "")}";
    }

    private static bool IsWithin(string path, string folder) =>
        folder == "/" || path == folder || path.StartsWith(folder + "/", StringComparison.Ordinal);
}
