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
