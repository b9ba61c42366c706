namespace Alto.Agent.Jobs;

/// <summary>How the agent words the operations its journal keeps unsettled, for its heartbeats and its status.</summary>
public static class WaitingOperations
{
    private const int FilesNamed = 3;

    /// <summary>Null when nothing waits; else how many, the first few files with why, and what brings them back.</summary>
    public static string? Describe(IReadOnlyList<WaitingOperation> waiting)
    {
        if (waiting.Count == 0)
        {
            return null;
        }
        var named = string.Join("; ", waiting.Take(FilesNamed).Select(operation => $"{operation.Path} ({operation.Operation}): {operation.Why}"));
        var more = waiting.Count > FilesNamed ? $"; and {waiting.Count - FilesNamed} more" : "";
        return $"{waiting.Count} {(waiting.Count == 1 ? "file is" : "files are")} left between original and stub: {named}{more}. " +
               "Make the files writable again (chattr -i, remount read-write): the agent tries them again on its own (every 60 s unless --unsettled-retry-seconds says otherwise) and at its start";
    }
}
