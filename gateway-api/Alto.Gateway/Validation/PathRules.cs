using System.Text.RegularExpressions;

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

    [GeneratedRegex(@"^[A-Za-z]:[\\/]")]
    private static partial Regex DrivePath();

    [GeneratedRegex(@"^\\\\[^\\/]+[\\/][^\\/]+")]
    private static partial Regex UncPath();
}
