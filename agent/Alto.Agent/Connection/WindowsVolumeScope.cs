using Alto.Scanning;

namespace Alto.Agent.Connection;

/// <summary>
/// What the cluster may have a Windows agent touch: paths below the host's registered volumes,
/// compared as Windows compares them (either slash, case ignored, drive letters and UNC roots),
/// after junctions and links are resolved on the host itself (the cluster cannot see them). A path
/// with "." or ".." parts, or that is not an absolute Windows path, is refused outright.
/// </summary>
public static class WindowsVolumeScope
{
    /// <summary>Why <paramref name="path"/> is not the cluster's to touch, or null when it is below one of <paramref name="volumes"/>.</summary>
    /// <param name="path">The path the cluster names.</param>
    /// <param name="volumes">The host's registered volumes.</param>
    /// <param name="finalPath">The path with every junction and link resolved (GetFinalPathNameByHandle), or null when it does not exist.</param>
    public static string? Refusal(string path, IReadOnlyList<string> volumes, Func<string, string?> finalPath)
    {
        if (volumes.Count == 0)
        {
            return "this host has no registered volumes";
        }
        if (PathFlavor.Windows.Canonical(path) is not { } canonical)
        {
            return $"{path} is not an absolute Windows path without '.' or '..' parts";
        }
        // A file that does not exist (yet) is judged by its folder.
        var real = finalPath(canonical) ?? (Path.GetDirectoryName(canonical) is { } folder ? finalPath(folder) : null);
        if (real is null || PathFlavor.Windows.Canonical(real) is not { } resolved)
        {
            return $"{path} does not exist on this host";
        }
        foreach (var volume in volumes)
        {
            if (PathFlavor.Windows.Canonical(volume) is { } top && (finalPath(top) is { } realTop ? PathFlavor.Windows.Canonical(realTop) : null) is { } topResolved
                && IsWithin(resolved, topResolved))
            {
                return null;
            }
        }
        return $"{path} is not below any of this host's volumes{(!string.Equals(resolved, canonical, StringComparison.OrdinalIgnoreCase) ? $" (it is {resolved})" : "")}";
    }

    private static bool IsWithin(string path, string folder) =>
        string.Equals(path, folder, StringComparison.OrdinalIgnoreCase)
        || path.StartsWith(folder.EndsWith('\\') ? folder : folder + "\\", StringComparison.OrdinalIgnoreCase);
}
