using Alto.GrainInterfaces.Hosts;
using Alto.Rules;

namespace Alto.Grains.Tests.Planning;

[Trait("Layer", "Unit")]
public sealed class TransferWindowTests
{
    // Friday 2026-11-27 and Saturday 2026-11-28, UTC.
    private static DateTimeOffset At(int day, int hour, int minute = 0) => new(2026, 11, day, hour, minute, 0, TimeSpan.Zero);

    public static TheoryData<string, TransferWindow, DateTimeOffset, bool> Cases() => new()
    {
        { "inside a weekday window", new("mon-fri", "09:00", "17:00", null), At(27, 12), true },
        { "the start is in", new("mon-fri", "09:00", "17:00", null), At(27, 9), true },
        { "the end is out", new("mon-fri", "09:00", "17:00", null), At(27, 17), false },
        { "weekday window on a Saturday", new("mon-fri", "09:00", "17:00", null), At(28, 12), false },
        { "overnight, evening part", new("fri", "20:00", "06:00", null), At(27, 23), true },
        { "overnight, morning part belongs to the day before", new("fri", "20:00", "06:00", null), At(28, 5, 59), true },
        { "overnight, after the end", new("fri", "20:00", "06:00", null), At(28, 6), false },
        { "overnight, morning of a day not after a listed one", new("sat", "20:00", "06:00", null), At(28, 5), false },
        { "daily", new("daily", "00:00", "23:59", null), At(28, 12), true },
        { "day list", new("sat,sun", "00:00", "12:00", null), At(28, 11), true },
        { "wrapping range", new("fri-mon", "10:00", "11:00", null), At(28, 10, 30), true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void WindowsOpenAndCloseAsWritten(string because, TransferWindow window, DateTimeOffset now, bool open) =>
        Assert.True(open == TransferWindows.At([window], "UTC", now).Open, because);

    [Fact]
    public void NoWindowsIsAlwaysOpenAndAWindowMayCarryItsOwnBandwidth()
    {
        Assert.Equal((true, (long?)null), TransferWindows.At([], "UTC", At(28, 3)));
        Assert.Equal((true, (long?)5_000_000), TransferWindows.At([new("daily", "00:00", "06:00", 5_000_000)], "UTC", At(28, 3)));
    }

    [Fact]
    public void TheHostsTimeZoneDecides()
    {
        // 23:30 UTC on Friday is 08:30 on Saturday in Tokyo.
        var window = new TransferWindow("sat", "08:00", "09:00", null);
        Assert.True(TransferWindows.At([window], "Asia/Tokyo", At(27, 23, 30)).Open);
        Assert.False(TransferWindows.At([window], "UTC", At(27, 23, 30)).Open);
    }

    [Theory]
    [InlineData("someday", "09:00", "17:00", "days")]
    [InlineData("mon", "9am", "17:00", "start")]
    [InlineData("mon", "09:00", "24:00", "end")]
    [InlineData("mon", "09:00", "09:00", "same time")]
    public void BadWindowsAreNamed(string days, string start, string end, string problem) =>
        Assert.Contains(problem, TransferWindows.Problem(new TransferWindow(days, start, end, null)), StringComparison.Ordinal);
}
