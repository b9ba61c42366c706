namespace Alto.Gateway.Grpc;

/// <summary>
/// Free text an agent sends (versions, reasons, errors, problems): kept to a length, and readable
/// where PostgreSQL could not store it. A NUL, which a tier-2 server's error body or a hostile
/// agent can put in a reason, fails the database write, and with it the report: the agent would
/// send it again forever. It becomes U+FFFD, as an undecodable byte does.
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
}
