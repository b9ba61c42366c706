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

    /// <summary>
    /// Seconds since 1970 as a scan reports them: a time beyond the years 0001-9999, which tmpfs,
    /// XFS and btrfs can hold, is the nearest bound, so the inventory holds such a file at it.
    /// </summary>
    public static long AsScanned(long unixSeconds) =>
        Math.Clamp(unixSeconds, DateTimeOffset.MinValue.ToUnixTimeSeconds(), DateTimeOffset.MaxValue.ToUnixTimeSeconds());

    /// <summary>
    /// Accepts RFC 3339 date-times with a zone (Z or ±hh:mm) whose instant lies in the years
    /// 0001-9999 UTC, all that a DateTimeOffset holds (the agent writes a file time beyond them as
    /// the nearest bound). File systems keep times far from today (a Windows time never set reads
    /// 1601-01-01, a bad clock or <c>touch -d</c> gives 2300), and one such file must not cost the
    /// other rows of its chunk their ingest. Other writers' spellings of such a time are read as
    /// their RFC 3339 form (<see cref="Respell"/>); a time without a zone never is.
    /// </summary>
    public static bool TryParseTimestamp(ReadOnlySpan<char> text, out DateTimeOffset value)
    {
        if (HasRfc3339Shape(text))
        {
            return TryParseShaped(text, out value);
        }
        Span<char> respelled = stackalloc char[MaxTimestampChars + 3]; // "+hh" grows by three
        var length = Respell(text, respelled);
        value = default;
        return length > 0 && HasRfc3339Shape(respelled[..length]) && TryParseShaped(respelled[..length], out value);
    }

    private const int MaxTimestampChars = 40;

    private static bool HasRfc3339Shape(ReadOnlySpan<char> text) =>
        text.Length is >= 20 and <= MaxTimestampChars && text[4] == '-' && text[7] == '-' && text[10] == 'T' && text[13] == ':'
        && (text[^1] == 'Z' || (text.Length >= 25 && text[^3] == ':' && (text[^6] == '+' || text[^6] == '-')));

    private static bool TryParseShaped(ReadOnlySpan<char> text, out DateTimeOffset value) =>
        // The form agents write is read by position; anything else (or any field out of its plain
        // range) is left to the general parser, which decides as it always did.
        TryParseWrittenForm(text, out value)
        || DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out value);

    /// <summary>
    /// Writes <paramref name="text"/> in RFC 3339's own spelling when it is a zoned date-time other
    /// tools write: a space or lower-case t between date and time (pandas, PostgreSQL, DuckDB; RFC
    /// 3339 allows both), a lower-case z, a comma before the fraction (ISO 8601), and an offset of
    /// hours alone (PostgreSQL's and DuckDB's +00) or without its colon (GNU find's and date's
    /// +0000). Returns the length written, or 0 when it is none of these.
    /// </summary>
    private static int Respell(ReadOnlySpan<char> text, Span<char> respelled)
    {
        if (text.Length < 20 || text.Length > MaxTimestampChars || text[4] != '-' || text[7] != '-' || text[13] != ':'
            || text[10] is not ('T' or 't' or ' '))
        {
            return 0;
        }
        text[..19].CopyTo(respelled);
        respelled[10] = 'T';
        var (from, to) = (19, 19);
        if (text[from] is '.' or ',')
        {
            respelled[to++] = '.';
            var digits = text[++from..].IndexOfAnyExceptInRange('0', '9');
            if (digits <= 0)
            {
                return 0;
            }
            text.Slice(from, digits).CopyTo(respelled[to..]);
            (from, to) = (from + digits, to + digits);
        }
        var zone = text[from..];
        switch (zone.Length)
        {
            case 1 when zone[0] is 'Z' or 'z':
                respelled[to++] = 'Z';
                return to;
            case 3 or 5 or 6 when zone[0] is '+' or '-' && char.IsAsciiDigit(zone[1]) && char.IsAsciiDigit(zone[2]):
                zone[..3].CopyTo(respelled[to..]);
                respelled[to + 3] = ':';
                var minutes = zone.Length switch { 3 => "00", 5 => zone[3..], _ => zone[3] == ':' ? zone[4..] : [] };
                if (minutes.Length != 2)
                {
                    return 0;
                }
                minutes.CopyTo(respelled[(to + 4)..]);
                return to + 6;
            default:
                return 0;
        }
    }

    /// <summary>
    /// yyyy-MM-ddTHH:mm:ss, an optional fraction of 1-7 digits, then Z or ±hh:mm, every field in its
    /// plain range and its instant within DateTimeOffset's: the same value DateTimeOffset.TryParse gives for
    /// it, without its general lexer (which was a tenth of the gateway's CPU staging a scan: three
    /// timestamps a row). False means "not this form", never "invalid". Called only after
    /// <see cref="TryParseTimestamp"/> has checked the length (20 or more) and the date and time separators.
    /// </summary>
    private static bool TryParseWrittenForm(ReadOnlySpan<char> text, out DateTimeOffset value)
    {
        value = default;
        if (!TwoDigits(text, 5, out var month) || !TwoDigits(text, 8, out var day) || !TwoDigits(text, 11, out var hour)
            || !TwoDigits(text, 14, out var minute) || !TwoDigits(text, 17, out var second)
            || !TwoDigits(text, 0, out var century) || !TwoDigits(text, 2, out var yearInCentury) || text[16] != ':')
        {
            return false;
        }
        var year = century * 100 + yearInCentury;
        var at = 19;
        long fractionTicks = 0;
        if (at < text.Length && text[at] == '.')
        {
            var digits = 0;
            for (at++; at < text.Length && char.IsAsciiDigit(text[at]); at++, digits++)
            {
                if (digits == 7)
                {
                    return false;
                }
                fractionTicks = fractionTicks * 10 + (text[at] - '0');
            }
            if (digits == 0)
            {
                return false;
            }
            for (; digits < 7; digits++)
            {
                fractionTicks *= 10;
            }
        }
        TimeSpan offset;
        if (at == text.Length - 1 && text[at] == 'Z')
        {
            offset = TimeSpan.Zero;
        }
        else if (at == text.Length - 6 && text[at] is '+' or '-' && text[at + 3] == ':'
                 && TwoDigits(text, at + 1, out var offsetHours) && TwoDigits(text, at + 4, out var offsetMinutes)
                 && offsetHours < 14 && offsetMinutes < 60)
        {
            offset = new TimeSpan(offsetHours, offsetMinutes, 0) * (text[at] == '-' ? -1 : 1);
        }
        else
        {
            return false;
        }
        if (year is < 1 or > 9999 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }
        var local = new DateTime(year, month, day, hour, minute, second).AddTicks(fractionTicks);
        // 0001-01-01T00:30:00+01:00 names an instant before year 1, which no DateTimeOffset holds.
        var utcTicks = local.Ticks - offset.Ticks;
        if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks)
        {
            return false;
        }
        value = new DateTimeOffset(local, offset);
        return true;
    }

    private static bool TwoDigits(ReadOnlySpan<char> text, int at, out int value)
    {
        var (tens, units) = (text[at], text[at + 1]);
        value = (tens - '0') * 10 + (units - '0');
        return char.IsAsciiDigit(tens) && char.IsAsciiDigit(units);
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
