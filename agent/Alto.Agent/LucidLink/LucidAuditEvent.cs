using System.Text.Json;

namespace Alto.Agent.LucidLink;

/// <summary>The operations of a LucidLink audit trail that move Alto's inventory.</summary>
public enum LucidAction
{
    /// <summary>Any other operation (create, attributes, pin...): read, counted, not sent.</summary>
    Other = 0,
    FileRead = 1,
    FileWritten = 2,
    FileDelete = 3,
    Move = 4,
}

/// <summary>One audit event: when (unix microseconds), what, on which entry (relative to the filespace root, with '/').</summary>
public readonly record struct LucidAuditEvent(long TimestampMicros, LucidAction Action, string EntryPath, string? TargetPath);

/// <summary>
/// Reads one line of a LucidLink audit trail: a JSON object with <c>timestamp</c> (unix
/// microseconds) and <c>operation {action, entryPath, targetPath}</c>; the user, device and
/// event members are skipped unread. Anything else — not JSON, no timestamp, or for a file
/// operation an entry path that is empty, absolute or climbs out of the filespace — is malformed.
/// </summary>
public static class LucidAuditLine
{
    public static bool TryParse(ReadOnlySpan<byte> line, out LucidAuditEvent parsed)
    {
        parsed = default;
        long? timestamp = null;
        var action = LucidAction.Other;
        string? entryPath = null;
        string? targetPath = null;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("timestamp"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var micros) || micros <= 0)
                    {
                        return false;
                    }
                    timestamp = micros;
                }
                else if (reader.ValueTextEquals("operation"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
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
                return false;
            }
        }
        catch (JsonException)
        {
            return false;
        }
        // Operations Alto does not act on (directories, attributes, pins) need no valid file path.
        if (timestamp is null || (action != LucidAction.Other && (!IsEntryPath(entryPath) || (action == LucidAction.Move && !IsEntryPath(targetPath)))))
        {
            return false;
        }
        parsed = new LucidAuditEvent(timestamp.Value, action, entryPath ?? "", action == LucidAction.Move ? targetPath : null);
        return true;
    }

    private static LucidAction ActionOf(ref Utf8JsonReader reader) =>
        reader.TokenType != JsonTokenType.String ? LucidAction.Other
        : reader.ValueTextEquals("FileRead"u8) ? LucidAction.FileRead
        : reader.ValueTextEquals("FileWritten"u8) ? LucidAction.FileWritten
        : reader.ValueTextEquals("FileDelete"u8) ? LucidAction.FileDelete
        : reader.ValueTextEquals("Move"u8) ? LucidAction.Move
        : LucidAction.Other;

    /// <summary>A path inside the filespace: relative, '/'-separated, no empty, "." or ".." parts, no NUL.</summary>
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
