using System.Globalization;
using Alto.GrainInterfaces.Hosts;

namespace Alto.Rules;

/// <summary>Reads and evaluates a host's transfer windows. No windows means always open.</summary>
public static class TransferWindows
{
    private static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    /// <summary>The problem with a window, or null when it is well formed.</summary>
    public static string? Problem(TransferWindow window) =>
        window.Days is null || window.Start is null || window.End is null ? "a window needs days, start and end"
        : ParseDays(window.Days) is null ? $"days '{window.Days}' must be 'daily' or days like 'mon-fri' or 'sat,sun'"
        : !TryTime(window.Start, out _) ? $"start '{window.Start}' must be HH:MM"
        : !TryTime(window.End, out _) ? $"end '{window.End}' must be HH:MM"
        : window.Start == window.End ? "a window must not start and end at the same time"
        : window.BytesPerSecond is <= 0 ? "bytesPerSecond must be positive when given"
        : null;

    /// <summary>Whether transfers may run at <paramref name="now"/>, and the window's own bandwidth if it has one.</summary>
    public static (bool Open, long? BytesPerSecond) At(IReadOnlyList<TransferWindow> windows, string timeZone, DateTimeOffset now)
    {
        if (windows.Count == 0)
        {
            return (true, null);
        }
        var local = TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById(timeZone));
        var time = TimeOnly.FromDateTime(local.DateTime);
        foreach (var window in windows)
        {
            var days = ParseDays(window.Days)!;
            TryTime(window.Start, out var start);
            TryTime(window.End, out var end);
            var today = (int)local.DayOfWeek;
            var open = start < end
                ? days.Contains(today) && time >= start && time < end
                // Past midnight: the evening part belongs to today, the morning part to the day before.
                : (days.Contains(today) && time >= start) || (days.Contains((today + 6) % 7) && time < end);
            if (open)
            {
                return (true, window.BytesPerSecond);
            }
        }
        return (false, null);
    }

    public static bool IsTimeZone(string id) => TimeZoneInfo.TryFindSystemTimeZoneById(id, out _);

    private static HashSet<int>? ParseDays(string days)
    {
        var text = days.Trim().ToLowerInvariant();
        if (text is "daily" or "*")
        {
            return [0, 1, 2, 3, 4, 5, 6];
        }
        var set = new HashSet<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var range = part.Split('-', StringSplitOptions.TrimEntries);
            var first = Array.IndexOf(DayNames, range[0]);
            var last = range.Length == 2 ? Array.IndexOf(DayNames, range[1]) : first;
            if (range.Length > 2 || first < 0 || last < 0)
            {
                return null;
            }
            for (var day = first; ; day = (day + 1) % 7)
            {
                set.Add(day);
                if (day == last)
                {
                    break;
                }
            }
        }
        return set.Count == 0 ? null : set;
    }

    private static bool TryTime(string text, out TimeOnly time) =>
        TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out time);
}
