using System.Text.Json;

namespace Alto.Agent.LucidLink;

/// <summary>The operations of a LucidLink audit trail that move Alto's inventory.</summary>
public enum LucidAction
{
    /// <summary>
    /// Any other operation the trail records — file and folder creation, folder deletion, symbolic
    /// links, extended attributes set or deleted, pin and unpin: read, counted, not sent (a new
    /// file reaches the inventory with the next scan).
    /// </summary>
    Other = 0,
    FileRead = 1,
    FileWritten = 2,
    FileDelete = 3,
    Move = 4,
}

/// <summary>One audit event: when (unix microseconds), what, on which entry (relative to the filespace root, with '/', no leading '/').</summary>
public readonly record struct LucidTrailEvent(long TimestampMicros, LucidAction Action, string EntryPath, string? TargetPath);

/// <summary>
/// Reads one line of a LucidLink audit trail as LucidLink documents it: a JSON object with
/// <c>timestamp</c> (unix microseconds) and <c>operation {action, entryPath, targetPath}</c>,
/// where paths are rooted at the filespace ("/Projects/video/final-cut.mov"), '/'-separated on
/// every client OS; the user, device and event members are skipped unread. Anything else — not
/// JSON, no timestamp, or for a file operation an entry path that is empty or climbs out of the
/// filespace — is malformed, and says why.
/// </summary>
public static class LucidTrailLine
{
    /// <summary>The last microsecond a DateTimeOffset holds: a later timestamp could never be sent, and once threw out of the uploader.</summary>
    private const long LatestMicros = 253_402_300_799_999_999;

    public static bool TryParse(ReadOnlySpan<byte> line, out LucidTrailEvent parsed) => TryParse(line, out parsed, out _);

    public static bool TryParse(ReadOnlySpan<byte> line, out LucidTrailEvent parsed, out string? problem)
    {
        parsed = default;
        problem = null;
        long? timestamp = null;
        var action = LucidAction.Other;
        string? entryPath = null;
        string? targetPath = null;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = "not a JSON object";
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("timestamp"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var micros) || micros <= 0)
                    {
                        problem = "timestamp is not a positive whole number of microseconds";
                        return false;
                    }
                    if (micros > LatestMicros)
                    {
                        problem = $"timestamp {micros} is after the year 9999";
                        return false;
                    }
                    timestamp = micros;
                }
                else if (reader.ValueTextEquals("operation"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        problem = "operation is not an object";
                        return false;
                    }
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("action"u8))
                        {
                            reader.Read();
                            action = ActionOf(ref reader);
                        }
                        else if (reader.ValueTextEquals("entryPath"u8))
                        {
                            reader.Read();
                            entryPath = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                        }
                        else if (reader.ValueTextEquals("targetPath"u8))
                        {
                            reader.Read();
                            targetPath = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                        }
                        else
                        {
                            reader.Read();
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                problem = "more after the JSON object";
                return false;
            }
        }
        catch (JsonException exception)
        {
            problem = $"not JSON: {exception.Message}";
            return false;
        }
        catch (InvalidOperationException exception) when (exception.InnerException is System.Text.DecoderFallbackException)
        {
            // The reader checks UTF-8 only as far as JSON's own bytes; a string's bytes are checked when it is read.
            problem = "a path is not UTF-8 text";
            return false;
        }
        if (timestamp is null)
        {
            problem = "no timestamp";
            return false;
        }
        // Operations Alto does not act on (directories, attributes, pins) need no valid file path.
        if (action != LucidAction.Other)
        {
            if (Relative(entryPath) is not { } entry)
            {
                problem = $"entryPath {Quoted(entryPath)} is not a path inside the filespace";
                return false;
            }
            var target = action == LucidAction.Move ? Relative(targetPath) : null;
            if (action == LucidAction.Move && target is null)
            {
                problem = $"a Move's targetPath {Quoted(targetPath)} is not a path inside the filespace";
                return false;
            }
            parsed = new LucidTrailEvent(timestamp.Value, action, entry, target);
            return true;
        }
        parsed = new LucidTrailEvent(timestamp.Value, action, entryPath is ['/', .. var rest] ? rest : entryPath ?? "", null);
        return true;
    }

    private static string Quoted(string? text) => text is null ? "(missing)" : $"'{(text.Length > 80 ? text[..80] + "…" : text)}'";

    /// <summary>The path relative to the filespace root: the documented leading '/' dropped (a relative path is taken as it is).</summary>
    private static string? Relative(string? path)
    {
        var relative = path is ['/', .. var rest] ? rest : path;
        return IsEntryPath(relative) ? relative : null;
    }

    private static LucidAction ActionOf(ref Utf8JsonReader reader) =>
        reader.TokenType != JsonTokenType.String ? LucidAction.Other
        : reader.ValueTextEquals("FileRead"u8) ? LucidAction.FileRead
        : reader.ValueTextEquals("FileWritten"u8) ? LucidAction.FileWritten
        : reader.ValueTextEquals("FileDelete"u8) ? LucidAction.FileDelete
        : reader.ValueTextEquals("Move"u8) ? LucidAction.Move
        : LucidAction.Other;

    /// <summary>A path inside the filespace, below its root: '/'-separated, no empty, "." or ".." parts, no NUL.</summary>
    private static bool IsEntryPath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path[0] == '/' || path.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }
        // Every part between slashes is non-empty and neither "." nor "..", without splitting (this runs for every event).
        var rest = path.AsSpan();
        while (true)
        {
            var slash = rest.IndexOf('/');
            var part = slash < 0 ? rest : rest[..slash];
            if (part.IsEmpty || part is "." || part is "..")
            {
                return false;
            }
            if (slash < 0)
            {
                return true;
            }
            rest = rest[(slash + 1)..];
        }
    }
}
