using Alto.Scanning;

namespace Alto.Grains.Scans;

/// <summary>
/// SQL expressions over stored paths of one flavour: POSIX paths split on '/' and compare
/// exactly; Windows paths split on '\' and compare without case. The expressions take column or
/// parameter names and avoid LIKE, so no path character needs escaping.
/// </summary>
public sealed class SqlPaths(PathFlavor flavor)
{
    private readonly bool _windows = flavor == PathFlavor.Windows;

    private string Separator => _windows ? "\\" : "/";

    /// <summary>The number of characters before the path's last separator.</summary>
    public string LastSeparator(string path) => $"(length({path}) - strpos(reverse({path}), '{Separator}'))";

    /// <summary>The folder holding a path, given <see cref="LastSeparator"/>: "/" at the top on POSIX, "C:\" on a Windows drive.</summary>
    public string Folder(string path, string cut) => _windows
        ? $"(CASE WHEN {cut} = 2 AND substr({path}, 2, 1) = ':' THEN left({path}, 3) ELSE left({path}, {cut}) END)"
        : $"(CASE WHEN {cut} = 0 THEN '/' ELSE left({path}, {cut}) END)";

    /// <summary>The path as compared: itself on POSIX, lower case on Windows.</summary>
    public string Key(string path) => _windows ? $"lower({path})" : path;

    /// <summary>Whether the path is strictly below the folder, by whole segments.</summary>
    public string Below(string path, string folder)
    {
        var top = $"rtrim({folder}, '{Separator}')";
        return $"(left({Key(path)}, length({top}) + 1) = {Key(top)} || '{Separator}')";
    }

    /// <summary>Whether the path is the folder or below it.</summary>
    public string Within(string path, string folder) =>
        $"({Key($"rtrim({path}, '{Separator}')")} = {Key($"rtrim({folder}, '{Separator}')")} OR {Below(path, folder)})";
}
