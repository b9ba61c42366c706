using System.Text.Json;
using System.Text.Json.Serialization;

namespace Alto.Scanning;

/// <summary>
/// An ISO 8601 time that names its zone (Z or ±hh:mm), as the seed's audit updates write them. A
/// time without one would be read in whatever zone the gateway's machine is set to: hours off,
/// without a word. It is refused instead, with what is missing. One with an offset is the same
/// instant in UTC.
/// </summary>
public sealed class ZonedTimeConverter : JsonConverter<DateTimeOffset?>
{
    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("a time is a string: an ISO 8601 time with its zone, e.g. 2025-11-02T18:45:23Z");
        }
        var text = reader.GetString()!;
        // The scan format's own reading of a time: RFC 3339, the zone required.
        if (!ScanValues.TryParseTimestamp(text, out var value))
        {
            throw new JsonException($"'{CsvScanReader.Shorten(text)}' is not an ISO 8601 time with its zone (Z or ±hh:mm), e.g. 2025-11-02T18:45:23Z");
        }
        // Held in UTC from here on: PostgreSQL's driver writes only UTC instants to a timestamptz.
        return value.ToUniversalTime();
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options)
    {
        if (value is { } time)
        {
            writer.WriteStringValue(time);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
