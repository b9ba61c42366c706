namespace Alto.Scanning;

/// <summary>How a host spells paths: POSIX is case-sensitive with '/'; Windows ignores case and takes '\' or '/'.</summary>
public enum PathFlavor
{
    Posix = 0,
    Windows = 1,
}

public static class PathFlavors
{
    /// <summary>Characters Windows does not allow in a file or folder name.</summary>
    private static readonly System.Buffers.SearchValues<char> WindowsForbidden = System.Buffers.SearchValues.Create(
        "<>:\"|?*\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f");

    /// <summary>
    /// The one stored form of an absolute path, or null when <paramref name="path"/> is not an
    /// absolute path of this flavour. POSIX paths are bytes and are kept exactly as given. Windows
    /// paths take either slash and come back with backslashes, an upper-case drive letter, no
    /// repeated or trailing separators and no \\?\ prefix; the case of names is kept (comparisons
    /// ignore it). A Windows path with "." or ".." parts, or a character Windows does not allow in
    /// a name, is refused: a scanner reports real paths. So is a POSIX path holding a NUL, which
    /// ends a path in every system call, and which PostgreSQL cannot store.
    /// </summary>
    public static string? Canonical(this PathFlavor flavor, string path)
    {
        if (flavor == PathFlavor.Posix)
        {
            return path.Length > 0 && path[0] == '/' && !path.Contains('\0', StringComparison.Ordinal) ? path : null;
        }
        var text = path.Replace('/', '\\');
        if (text.StartsWith(@"\\?\UNC\", StringComparison.OrdinalIgnoreCase))
        {
            text = @"\\" + text[8..];
        }
        else if (text.StartsWith(@"\\?\", StringComparison.Ordinal))
        {
            text = text[4..];
        }
        string root;
        string rest;
        if (text.Length >= 3 && char.IsAsciiLetter(text[0]) && text[1] == ':' && text[2] == '\\')
        {
            root = char.ToUpperInvariant(text[0]) + @":\";
            rest = text[3..];
        }
        else if (text.StartsWith(@"\\", StringComparison.Ordinal))
        {
            var parts = text[2..].Split('\\', 3);
            if (parts.Length < 2 || parts[0].Length == 0 || parts[1].Length == 0)
            {
                return null;
            }
            root = $@"\\{parts[0]}\{parts[1]}";
            rest = parts.Length == 3 ? parts[2] : "";
            if (!IsWindowsName(parts[0]) || !IsWindowsName(parts[1]))
            {
                return null;
            }
        }
        else
        {
            return null;
        }
        var segments = rest.Split('\\', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Any(segment => segment is "." or ".." || !IsWindowsName(segment)))
        {
            return null;
        }
        if (segments.Length == 0)
        {
            return root;
        }
        return root.EndsWith('\\') ? root + string.Join('\\', segments) : root + "\\" + string.Join('\\', segments);
    }

    /// <summary>
    /// The stored form of a file's path as a scanner reports it, or null when it is not one: as
    /// <see cref="Canonical"/>, and a POSIX path also loses repeated and trailing slashes (the file
    /// system ignores them) and is refused with "." or ".." parts, as a Windows path is. A scanner
    /// reports real paths; a row naming /srv/home/../secret/a.txt would be judged by rules as a home
    /// folder's file and be another, depending on links only the host sees.
    /// </summary>
    public static string? CanonicalFile(this PathFlavor flavor, string path) =>
        flavor != PathFlavor.Posix ? flavor.Canonical(path)
        : path.Length == 0 || path[0] != '/' || path.Contains('\0', StringComparison.Ordinal) ? null
        : IsPosixCanonical(path) ? path
        : CanonicalPosix(path);

    /// <summary>Whether an absolute POSIX path is already in its stored form (every row a scanner sends, read without copying).</summary>
    private static bool IsPosixCanonical(string path)
    {
        if (path.Length == 1)
        {
            return true;
        }
        if (path[^1] == '/')
        {
            return false;
        }
        var start = 1;
        while (start <= path.Length)
        {
            var end = path.IndexOf('/', start);
            var segment = path.AsSpan(start, (end < 0 ? path.Length : end) - start);
            if (segment is "" or "." or "..")
            {
                return false;
            }
            if (end < 0)
            {
                return true;
            }
            start = end + 1;
        }
        return true;
    }

    private static string? CanonicalPosix(string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments.Any(segment => segment is "." or "..") ? null : "/" + string.Join('/', segments);
    }

    /// <summary>The folder part of a canonical path ("/" or "C:\" at the top) and the name after its last separator.</summary>
    public static (string Folder, string Name) Split(this PathFlavor flavor, string canonical)
    {
        var cut = flavor == PathFlavor.Windows ? canonical.LastIndexOf('\\') : canonical.LastIndexOf('/');
        var folder = cut <= 0 ? canonical[..(cut + 1)] : canonical[..cut];
        // A drive's top folder keeps its separator: the folder of C:\a.txt is C:\, not C:.
        if (flavor == PathFlavor.Windows && folder.Length == 2 && folder[1] == ':')
        {
            folder += "\\";
        }
        return (folder, canonical[(cut + 1)..]);
    }

    /// <summary>An extension in its one stored form: lower case, without the dot ("pdf").</summary>
    public static string CanonicalExtension(string extension) =>
        extension.AsSpan().TrimStart('.').ToString().ToLowerInvariant();

    private static bool IsWindowsName(string name) => name.AsSpan().IndexOfAny(WindowsForbidden) < 0;

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
