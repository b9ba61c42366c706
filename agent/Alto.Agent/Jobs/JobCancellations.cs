namespace Alto.Agent.Jobs;

/// <summary>
/// Jobs an admin cancelled, as the cluster tells the agent (a Cancel message), matched with the
/// jobs running: a running job is told to stop starting files at once; a job cancelled before it
/// starts (still behind another in the agent's queue) starts stopped. Remembers the last
/// <see cref="Remembered"/> cancellations, as many as the agent remembers commands handled.
/// </summary>
public sealed class JobCancellations
{
    public const int Remembered = 1000;

    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, CancellationTokenSource> _running = [];
    private readonly HashSet<Guid> _cancelled = [];
    private readonly Queue<Guid> _cancelledOrder = new();

    /// <summary>Cancels the job: at once when it runs, when it starts otherwise. Returns whether it was running.</summary>
    public bool Cancel(Guid jobId)
    {
        lock (_lock)
        {
            if (_cancelled.Add(jobId))
            {
                _cancelledOrder.Enqueue(jobId);
                if (_cancelledOrder.Count > Remembered)
                {
                    _cancelled.Remove(_cancelledOrder.Dequeue());
                }
            }
            if (_running.TryGetValue(jobId, out var running))
            {
                running.Cancel();
                return true;
            }
            return false;
        }
    }

    /// <summary>
    /// A job starts: the token its files check before each starts, already cancelled when the
    /// cluster cancelled the job before (or sends it marked <paramref name="cancelled"/>).
    /// Disposing the answer ends the job's entry.
    /// </summary>
    public RunningJob Start(Guid jobId, bool cancelled)
    {
        var stop = new CancellationTokenSource();
        lock (_lock)
        {
            if (cancelled || _cancelled.Contains(jobId))
            {
                stop.Cancel();
            }
            _running[jobId] = stop;
        }
        return new RunningJob(() =>
        {
            lock (_lock)
            {
                if (_running.TryGetValue(jobId, out var current) && current == stop)
                {
                    _running.Remove(jobId);
                }
            }
            stop.Dispose();
        }, stop.Token);
    }

    /// <summary>A job's entry while it runs: <see cref="Stop"/> is cancelled once the job is.</summary>
    public sealed class RunningJob(Action end, CancellationToken stop) : IDisposable
    {
        public CancellationToken Stop { get; } = stop;

        public void Dispose() => end();
    }
}
