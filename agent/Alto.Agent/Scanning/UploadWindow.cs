namespace Alto.Agent.Scanning;

/// <summary>
/// A scan's chunk uploads running at once, at most <see cref="Limit"/>: as many as the gateway
/// takes from one host at a time, so one chunk's rows are copied into PostgreSQL while the next
/// is on the wire or copying beside it. A new upload waits for a place; a failed one is thrown
/// as soon as it is seen, without waiting for the other.
/// </summary>
public sealed class UploadWindow : IDisposable
{
    public const int Limit = 2;

    private readonly List<Task> _running = new(Limit);

    /// <summary>Starts <paramref name="upload"/> once there is a place for it.</summary>
    public async Task StartAsync(Func<Task> upload)
    {
        if (_running.Count == Limit)
        {
            await NextDoneAsync();
        }
        _running.Add(upload());
    }

    /// <summary>Waits for every upload started; a scan's final chunk goes only after this.</summary>
    public async Task DrainAsync()
    {
        while (_running.Count > 0)
        {
            await NextDoneAsync();
        }
    }

    /// <summary>After a failure the others end with the scan's cancellation: nothing waits for them, their errors are observed.</summary>
    public void Dispose()
    {
        foreach (var upload in _running)
        {
            _ = upload.ContinueWith(static done => done.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        _running.Clear();
    }

    private async Task NextDoneAsync()
    {
        var done = await Task.WhenAny(_running);
        _running.Remove(done);
        await done;
    }
}
