using Alto.Agent.Stubs;

namespace Alto.Agent.Recall;

/// <summary>
/// One recall of a file at a time, whoever asks: the opens of a stub by several programs, and a
/// recall the cluster commanded, join the one already running instead of starting their own.
/// Two recalls side by side each release what they wrote when they fail, so the one failing last
/// would punch out the data the other had put back and unmarked: the file would read as zeros.
/// </summary>
internal sealed class RecallsInFlight
{
    private readonly Dictionary<FileIdentity, Task<StubInfo?>> _running = [];
    private readonly Lock _lock = new();

    /// <summary>
    /// Runs <paramref name="recall"/> for the file, or waits for the recall of it already running.
    /// <c>Mine</c> says which: only the recall that ran reports it. A joined recall's failure is
    /// this call's failure too.
    /// </summary>
    public async Task<(StubInfo? Stub, bool Mine)> RunAsync(FileIdentity file, Func<Task<StubInfo?>> recall)
    {
        Task<StubInfo?>? running;
        var mine = new TaskCompletionSource<StubInfo?>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (!_running.TryGetValue(file, out running))
            {
                _running[file] = mine.Task;
            }
        }
        if (running is not null)
        {
            return (await running, false);
        }
        try
        {
            var stub = await recall();
            Done(file);
            mine.SetResult(stub);
            return (stub, true);
        }
        catch (Exception exception)
        {
            // Gone from the running ones first: an open after this failure tries again by itself.
            Done(file);
            mine.SetException(exception);
            // Observed here: whoever joined gets it too, and no one joining is no unobserved fault.
            _ = mine.Task.Exception;
            throw;
        }
    }

    private void Done(FileIdentity file)
    {
        lock (_lock)
        {
            _running.Remove(file);
        }
    }
}
