namespace Alto.GrainInterfaces.Common;

/// <summary>
/// Free text an agent sends (versions, reasons, errors, problems): kept to a length, and readable
/// where PostgreSQL could not store it. A NUL, which a tier-2 server's error body or a hostile
/// agent can put in a reason, fails the database write, and with it the report: the agent would
/// send it again forever. It becomes U+FFFD, as an undecodable byte does. Names (paths, keys,
/// locators) are not text: one holding a NUL names nothing, and is refused (<see cref="HasNul"/>).
/// </summary>
public static class AgentText
{
    public static string Readable(string text, int maxLength)
    {
        var cut = text.Length <= maxLength ? text : text[..maxLength];
        return cut.Contains('\0', StringComparison.Ordinal) ? cut.Replace('\0', '\uFFFD') : cut;
    }

    /// <summary>Null for empty text, else <see cref="Readable"/>.</summary>
    public static string? ReadableOrNull(string text, int maxLength) => text.Length == 0 ? null : Readable(text, maxLength);

    /// <summary>The text with each NUL as U+FFFD (null stays null); its length is the caller's to check.</summary>
    public static string? Storable(string? text) => text is null ? null : Readable(text, text.Length);

    /// <summary>Whether a name holds a NUL, which no file, object or key can have.</summary>
    public static bool HasNul(string? name) => name?.Contains('\0', StringComparison.Ordinal) == true;
}
