using System.Text.RegularExpressions;
using Alto.Scanning;

namespace Alto.Gateway.Validation;

/// <summary>Paths on the file servers: absolute POSIX paths, Windows drive paths or UNC shares.</summary>
public static partial class PathRules
{
    public const int MaxLength = 4096;

    public static bool IsAbsolute(string path) =>
        path.StartsWith('/') || DrivePath().IsMatch(path) || UncPath().IsMatch(path);

    public static string? AbsolutePath(this RequestErrors errors, string field, string? value, bool required)
    {
        var text = errors.Text(field, value, MaxLength, required);
        if (text is null || text.Length == 0)
        {
            return text;
        }
        if (!IsAbsolute(text))
        {
            errors.Add(field, $"{field} must be an absolute path (/mnt/tier2, D:\\tier2 or \\\\server\\share)");
            return null;
        }
        return text;
    }

    /// <summary>
    /// A path on a host, in its one stored form for the host's flavour (see <see cref="PathFlavors.Canonical"/>),
    /// or null with the problem added.
    /// </summary>
    public static string? HostPath(this RequestErrors errors, string field, string? value, PathFlavor flavor, bool required)
    {
        var text = errors.Text(field, value, MaxLength, required);
        if (text is null || text.Length == 0)
        {
            return text;
        }
        if (flavor.Canonical(text) is { } canonical)
        {
            return canonical;
        }
        errors.Add(field, flavor == PathFlavor.Windows
            ? $"'{text}' is not an absolute path on this Windows host (C:\\folder or \\\\server\\share\\folder)"
            : $"'{text}' is not an absolute path on this POSIX host (it starts with /)");
        return null;
    }

    [GeneratedRegex(@"^[A-Za-z]:[\\/]")]
    private static partial Regex DrivePath();

    [GeneratedRegex(@"^\\\\[^\\/]+[\\/][^\\/]+")]
    private static partial Regex UncPath();
}
