namespace Alto.Agent.Jobs;

/// <summary>Exceptions as the one-line reasons that reach the API, the audit log and the agent's log.</summary>
public static class FailureReasons
{
    /// <summary>Longest reason sent to the cluster (the gateway cuts longer ones).</summary>
    public const int MaxLength = 500;

    /// <summary>The exception's message on one line, cut to <see cref="MaxLength"/>; the type where the message says nothing.</summary>
    public static string OneLine(Exception exception)
    {
        var message = string.IsNullOrWhiteSpace(exception.Message) ? exception.GetType().Name : exception.Message;
        var line = string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return line.Length <= MaxLength ? line : line[..(MaxLength - 1)] + "…";
    }
}
