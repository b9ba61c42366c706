using System.Text.Json;
using System.Text.Json.Serialization;

namespace Alto.Agent.Stubs;

/// <summary>
/// A path in the agent's JSON (its journal, a job given to <c>alto-agent tier</c>): a string, or
/// <c>{"escaped": "…"}</c> for a name that is not UTF-8, escaped as a scan reports it
/// (<see cref="RawPaths"/>) — JSON text cannot hold its bytes, and a path written as U+FFFD would
/// have recovery settle another file, or none.
/// </summary>
public sealed class RawPathJsonConverter : JsonConverter<string>
{
    private const string Escaped = "escaped";

    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString()!;
        }
        if (reader.TokenType != JsonTokenType.StartObject || !reader.Read() || reader.TokenType != JsonTokenType.PropertyName
            || reader.GetString() != Escaped || !reader.Read() || reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("a path is a string or {\"escaped\": string}");
        }
        string path;
        try
        {
            path = RawPaths.FromEscaped(reader.GetString()!);
        }
        catch (FormatException damaged)
        {
            throw new JsonException("a path's escaped text is damaged", damaged);
        }
        return reader.Read() && reader.TokenType == JsonTokenType.EndObject ? path : throw new JsonException("a path's object has one member");
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        var (text, escaped) = RawPaths.ToWire(value);
        if (!escaped)
        {
            writer.WriteStringValue(text);
            return;
        }
        writer.WriteStartObject();
        writer.WriteString(Escaped, text);
        writer.WriteEndObject();
    }
}
