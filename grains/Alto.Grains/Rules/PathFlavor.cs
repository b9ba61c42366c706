using Alto.GrainInterfaces.Hosts;

namespace Alto.Grains.Rules;

/// <summary>How a host spells paths: POSIX is case-sensitive with '/'; Windows ignores case and takes '\' or '/'.</summary>
public enum PathFlavor
{
    Posix = 0,
    Windows = 1,
}

public static class PathFlavors
{
    public static PathFlavor Of(HostOs os) => os == HostOs.Windows ? PathFlavor.Windows : PathFlavor.Posix;

    /// <summary>
    /// Whether <paramref name="path"/> is <paramref name="folder"/> or below it, by whole path
    /// segments (/srv/a is not below /srv/ab). Windows compares case-insensitively and takes either slash.
    /// </summary>
    public static bool IsWithin(this PathFlavor flavor, string path, string folder)
    {
        var windows = flavor == PathFlavor.Windows;
        var top = folder.AsSpan().TrimEnd(windows ? "/\\" : "/");
        if (path.Length < top.Length)
        {
            return false;
        }
        for (var i = 0; i < top.Length; i++)
        {
            if (!SameCharacter(path[i], top[i], windows))
            {
                return false;
            }
        }
        return path.Length == top.Length || IsSeparator(path[top.Length], windows);
    }

    private static bool IsSeparator(char c, bool windows) => c == '/' || windows && c == '\\';

    private static bool SameCharacter(char a, char b, bool windows) =>
        a == b || windows && (IsSeparator(a, windows) && IsSeparator(b, windows) || char.ToUpperInvariant(a) == char.ToUpperInvariant(b));

    /// <summary>
    /// The path with "." and ".." segments resolved and repeated separators folded, as the host would
    /// read it (symbolic links are the agent's to resolve); null when ".." climbs above the root.
    /// </summary>
    public static string? Normalize(this PathFlavor flavor, string path)
    {
        var windows = flavor == PathFlavor.Windows;
        char[] separators = windows ? ['\\', '/'] : ['/'];
        var root = windows && path.StartsWith(@"\\", StringComparison.Ordinal) ? @"\\" : windows ? "" : "/";
        var segments = new List<string>();
        foreach (var segment in path[root.Length..].Split(separators, StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment == ".")
            {
                continue;
            }
            if (segment == "..")
            {
                // A drive ("C:") or a UNC server and share stay: nothing climbs above them.
                var floor = windows ? (root.Length > 0 ? 2 : 1) : 0;
                if (segments.Count <= floor)
                {
                    return null;
                }
                segments.RemoveAt(segments.Count - 1);
                continue;
            }
            segments.Add(segment);
        }
        var joined = string.Join(windows ? '\\' : '/', segments);
        return windows && root.Length == 0 && segments.Count == 1 ? joined + "\\" : root + joined;
    }

    /// <summary>Whether <paramref name="path"/> is within any of <paramref name="folders"/>.</summary>
    public static bool IsWithinAny(this PathFlavor flavor, string path, IReadOnlyList<string> folders)
    {
        foreach (var folder in folders)
        {
            if (flavor.IsWithin(path, folder))
            {
                return true;
            }
        }
        return false;
    }
}
