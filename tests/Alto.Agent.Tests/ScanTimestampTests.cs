using System.Globalization;
using Alto.Scanning;

namespace Alto.Agent.Tests;

/// <summary>
/// Scan timestamps are read by position when they have the form agents write; every answer must be
/// the one the general parser gives (DateTimeOffset.TryParse, round-trip kind), value and offset alike.
/// </summary>
[Trait("Layer", "Unit")]
public sealed class ScanTimestampTests
{
    [Theory]
    [InlineData("2025-01-15T10:30:00Z")]
    [InlineData("2025-01-15T10:30:00.1234567Z")]
    [InlineData("2025-01-15T10:30:00.5Z")]
    [InlineData("2025-01-15T10:30:00.000001Z")]
    [InlineData("2025-01-15T10:30:00+02:00")]
    [InlineData("2025-01-15T10:30:00.25-05:30")]
    [InlineData("2025-01-15T00:10:00+13:59")]
    [InlineData("1900-01-01T00:00:00Z")]
    [InlineData("2200-12-31T23:59:59.9999999Z")]
    [InlineData("0001-01-01T00:00:00Z")]
    [InlineData("9999-12-31T23:59:59.9999999Z")]
    [InlineData("1601-01-01T00:00:00Z")]
    [InlineData("2300-01-01T00:00:00Z")]
    [InlineData("0001-01-01T00:30:00-01:00")]
    [InlineData("9999-12-31T23:30:00+01:00")]
    [InlineData("2024-02-29T12:00:00Z")]
    // Each of these is outside the written form or its plain ranges: the general parser answers.
    [InlineData("2023-02-29T12:00:00Z")]
    [InlineData("2025-13-01T00:00:00Z")]
    [InlineData("2025-00-10T00:00:00Z")]
    [InlineData("2025-01-32T00:00:00Z")]
    [InlineData("2025-01-15T24:00:00Z")]
    [InlineData("2025-01-15T23:60:00Z")]
    [InlineData("2025-01-15T23:59:60Z")]
    [InlineData("2025-01-15T10:30:00.12345678Z")]
    [InlineData("2025-01-15T10:30:00.Z")]
    [InlineData("2025-01-15T10:30:00+14:00")]
    [InlineData("2025-01-15T10:30:00-14:00")]
    [InlineData("2025-01-15T10:30:00+15:00")]
    [InlineData("2025-01-15T10:30:00+02:60")]
    [InlineData("1899-12-31T23:59:59Z")]
    [InlineData("1900-01-01T00:30:00+01:00")]
    [InlineData("2201-01-01T00:00:00Z")]
    // Instants before year 1 or after 9999 UTC, which no DateTimeOffset holds, and a year 0.
    [InlineData("0001-01-01T00:30:00+01:00")]
    [InlineData("9999-12-31T23:30:00-01:00")]
    [InlineData("0000-06-01T00:00:00Z")]
    [InlineData("2025-01-15T10:30:0aZ")]
    [InlineData("2025-01-15T10:30:00 Z")]
    [InlineData("2025-01-15T10:30Z")]
    [InlineData("2025-1-15T10:30:00Z")]
    [InlineData("+025-01-15T10:30:00Z")]
    [InlineData("2025-01-15T10:30:00.1234567+02:00")]
    public void AnswersAsTheGeneralParserDoes(string text) => AssertSameAnswer(text);

    /// <summary>
    /// Zoned times as other tools write them (pandas' and PostgreSQL's CSV, DuckDB, GNU find's
    /// <c>%T+</c>/<c>%Tz</c>, RFC 3339's lower case), each read as its RFC 3339 spelling is.
    /// </summary>
    [Theory]
    [InlineData("2025-01-15 10:30:00+00:00", "2025-01-15T10:30:00+00:00")]
    [InlineData("2025-01-15 10:30:00.123456+05:30", "2025-01-15T10:30:00.123456+05:30")]
    [InlineData("2025-01-15 10:30:00+00", "2025-01-15T10:30:00+00:00")]
    [InlineData("2025-01-15 10:30:00-03", "2025-01-15T10:30:00-03:00")]
    [InlineData("2025-01-15T10:30:00.0000000000+0000", "2025-01-15T10:30:00.0000000000+00:00")]
    [InlineData("2025-01-15T10:30:00.5-0130", "2025-01-15T10:30:00.5-01:30")]
    [InlineData("2025-01-15t10:30:00z", "2025-01-15T10:30:00Z")]
    [InlineData("2025-01-15T10:30:00z", "2025-01-15T10:30:00Z")]
    [InlineData("2025-01-15 10:30:00Z", "2025-01-15T10:30:00Z")]
    [InlineData("2025-01-15T10:30:00,25Z", "2025-01-15T10:30:00.25Z")]
    [InlineData("0001-01-01 00:00:00+00", "0001-01-01T00:00:00Z")]
    public void OtherToolsSpellingsOfAZonedTimeReadAsItsRfc3339Spelling(string written, string rfc3339)
    {
        Assert.True(ScanValues.TryParseTimestamp(rfc3339, out var expected), rfc3339);
        Assert.True(ScanValues.TryParseTimestamp(written, out var value), written);
        Assert.Equal((expected.UtcTicks, expected.Offset), (value.UtcTicks, value.Offset));
    }

    /// <summary>Whatever the spelling, a time without its zone is not read (its instant is unknown), nor is anything half-formed.</summary>
    [Theory]
    [InlineData("2025-01-15 10:30:00")]
    [InlineData("2025-01-15 10:30:00.123456")]
    [InlineData("2025-01-15t10:30:00")]
    [InlineData("2025-01-15 10:30:00+0")]
    [InlineData("2025-01-15 10:30:00+000")]
    [InlineData("2025-01-15 10:30:00+00:0")]
    [InlineData("2025-01-15 10:30:00+0a")]
    [InlineData("2025-01-15 10:30:00.Z")]
    [InlineData("2025-01-15 10:30:00 +00")]
    [InlineData("2025-01-15_10:30:00Z")]
    [InlineData("2025-01-15 10:30:00+15")]
    [InlineData("2025-01-15 10:30:00.1234567890123456789+05")]
    public void ATimeWithoutItsZoneOrHalfFormedIsNotRead(string written) =>
        Assert.False(ScanValues.TryParseTimestamp(written, out _), written);

    /// <summary>Times real files carry, far from today: each is read, to the tick, where a narrower range once refused the whole chunk.</summary>
    [Theory]
    [InlineData("1601-01-01T00:00:00Z", 504911232000000000L)]
    [InlineData("1901-12-13T20:45:52Z", 599881131520000000L)]
    [InlineData("2300-01-01T00:00:00.0000000Z", 725493888000000000L)]
    [InlineData("0001-01-01T00:00:00Z", 0L)]
    [InlineData("9999-12-31T23:59:59.9999999Z", 3155378975999999999L)]
    public void TimesFarFromTodayAreRead(string text, long utcTicks)
    {
        Assert.True(ScanValues.TryParseTimestamp(text, out var value), text);
        Assert.Equal(utcTicks, value.UtcTicks);
    }

    [Fact]
    public void RandomTimestampsInEveryWrittenShapeReadAsTheGeneralParserReadsThem()
    {
        var random = new Random(20261203);
        for (var i = 0; i < 20_000; i++)
        {
            var ticks = random.NextInt64(DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks);
            var clock = new DateTime(ticks);
            var digits = random.Next(0, 8);
            var fraction = digits == 0 ? "" : "." + (clock.Ticks % TimeSpan.TicksPerSecond).ToString("D7", CultureInfo.InvariantCulture)[..digits];
            var zone = random.Next(3) switch
            {
                0 => "Z",
                var sign => (sign == 1 ? "+" : "-") + random.Next(0, 15).ToString("D2", CultureInfo.InvariantCulture) + ":"
                             + random.Next(0, 60).ToString("D2", CultureInfo.InvariantCulture),
            };
            AssertSameAnswer(clock.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + fraction + zone);
        }
    }

    [Fact]
    public void TheAgentsOwnTimestampsReadBackExactly()
    {
        var random = new Random(7);
        for (var i = 0; i < 10_000; i++)
        {
            var value = new DateTimeOffset(random.NextInt64(DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks + 1), TimeSpan.Zero);
            Assert.True(ScanValues.TryParseTimestamp(ScanValues.Timestamp(value), out var read));
            Assert.Equal(value.UtcTicks, read.UtcTicks);
        }
    }

    /// <summary>What the scan format accepts by its definition: its shape check, then the general parser.</summary>
    private static bool GeneralParse(string text, out DateTimeOffset value)
    {
        value = default;
        var shaped = text.Length is >= 20 and <= 40 && text[4] == '-' && text[7] == '-' && text[10] == 'T' && text[13] == ':'
                     && (text[^1] == 'Z' || (text.Length >= 25 && text[^3] == ':' && (text[^6] == '+' || text[^6] == '-')));
        return shaped && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out value);
    }

    private static void AssertSameAnswer(string text)
    {
        var expected = GeneralParse(text, out var expectedValue);
        var actual = ScanValues.TryParseTimestamp(text, out var actualValue);
        Assert.True(expected == actual, $"'{text}': the general parser says {expected}, the scan format {actual}");
        if (expected)
        {
            Assert.True(expectedValue.DateTime == actualValue.DateTime && expectedValue.Offset == actualValue.Offset,
                $"'{text}': the general parser reads {expectedValue:O}, the scan format {actualValue:O}");
        }
    }
}
