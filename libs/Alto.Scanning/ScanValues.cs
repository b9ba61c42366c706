using System.Globalization;

namespace Alto.Scanning;

/// <summary>How single values are written and strictly read back, shared by CSV and Parquet.</summary>
public static class ScanValues
{
    /// <summary>RFC 3339 in UTC with 100 ns precision: 2025-01-15T10:30:00.1234567Z (the round-trip "O" format, which .NET writes fast).</summary>
    public static string Timestamp(DateTimeOffset value) => value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Writes <see cref="Timestamp"/> into a buffer without allocating; returns the characters written.</summary>
    public static int FormatTimestamp(DateTimeOffset value, Span<char> destination) =>
        value.UtcDateTime.TryFormat(destination, out var written, "O", CultureInfo.InvariantCulture) ? written : throw new ArgumentException("buffer too small", nameof(destination));

    /// <summary>Accepts only RFC 3339 date-times with a zone (Z or ±hh:mm), between 1900 and 2200.</summary>
    public static bool TryParseTimestamp(ReadOnlySpan<char> text, out DateTimeOffset value)
    {
        value = default;
        if (text.Length < 20 || text.Length > 40 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':'
            || !(text[^1] == 'Z' || (text.Length >= 25 && text[^3] == ':' && (text[^6] == '+' || text[^6] == '-'))))
        {
            return false;
        }
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out value))
        {
            return false;
        }
        return value.Year is >= 1900 and <= 2200;
    }

    /// <summary>The final name's extension with its dot (".pdf"), or empty.</summary>
    public static string Extension(ReadOnlySpan<char> path)
    {
        var name = path[(path.LastIndexOf('/') + 1)..];
        var dot = name.LastIndexOf('.');
        return dot <= 0 || dot == name.Length - 1 ? "" : name[dot..].ToString();
    }

    private static readonly string?[] PermissionStrings = new string?[4096];

    /// <summary>ls-style permission string from a POSIX mode: rw-r--r-- (one shared string per mode).</summary>
    public static string Permissions(uint mode) => PermissionStrings[mode & 0xFFF] ??= BuildPermissions(mode & 0xFFF);

    private static string BuildPermissions(uint mode)
    {
        Span<char> text = stackalloc char[9];
        const string letters = "rwxrwxrwx";
        for (var i = 0; i < 9; i++)
        {
            text[i] = (mode & (1u << (8 - i))) != 0 ? letters[i] : '-';
        }
        if ((mode & 0x800) != 0) { text[2] = text[2] == 'x' ? 's' : 'S'; }
        if ((mode & 0x400) != 0) { text[5] = text[5] == 'x' ? 's' : 'S'; }
        if ((mode & 0x200) != 0) { text[8] = text[8] == 'x' ? 't' : 'T'; }
        return new string(text);
    }
}
