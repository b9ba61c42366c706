using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Recall;

/// <summary>How recalls on open are bounded: how long tier 2 may send nothing, and how many run at once.</summary>
/// <param name="Stall">How long tier 2 may send nothing before a recall is given up (<see cref="Tiering.StallGuardStream"/>).</param>
/// <param name="AtOnce">How many recalls on open read tier 2 at the same time; further opens of stubs wait their turn.</param>
public sealed record RecallLimits(TimeSpan Stall, int AtOnce)
{
    /// <summary>
    /// Sixteen: enough to keep an S3 endpoint or a share busy with small files, and few enough that
    /// a folder target's calls (each a thread in the kernel) and the agent's own work keep threads.
    /// </summary>
    public const int DefaultAtOnce = 16;

    /// <summary>The most recalls at once <c>--recalls-at-once</c> allows.</summary>
    public const int MostAtOnce = 1024;

    public static RecallLimits Default { get; } = new(Tiering.StallGuardStream.DefaultLimit, DefaultAtOnce);
}

/// <summary>An open of a stub whose recall had not had its turn when the agent began to stop: it is still unanswered, and the file still a stub.</summary>
public sealed class RecallNotStartedException() : IOException("the agent stopped before this recall's turn came; the file stays a stub");

/// <summary>
/// Lets <see cref="RecallLimits.AtOnce"/> recalls on open run at a time; the others wait their
/// turn, their programs waiting in the kernel as for any slow recall. A program that opens
/// thousands of stubs side by side (a virus scanner, a backup or an indexer with many threads)
/// would otherwise start as many reads of tier 2 at once: as many connections to an S3 endpoint
/// (which answers a flood with throttling and retries), and on a slow share as many threads
/// blocked in the kernel (each read of a folder target runs on a thread of its own, and the thread
/// pool adds threads only a few a second, so the agent's other work queues behind them). The
/// order is kept: the first stub opened is the first recalled. Waiting is not a failure, but it is
/// said: a warning at most once a minute while opens queue, and the count in every heartbeat.
/// </summary>
internal sealed partial class RecallSlots(int atOnce, ILogger logger)
{
    private static readonly TimeSpan WarnEvery = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource> _turns = new();
    private int _running;
    private int _waiting;
    private long _warnedAt = long.MinValue;

    /// <summary>Opens of stubs waiting now for their recall to start.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>
    /// Runs <paramref name="recall"/> once a slot is free, in the order the recalls were asked for;
    /// <paramref name="stopping"/> ends the wait (the agent is going away).
    /// </summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> recall, CancellationToken stopping)
    {
        if (stopping.IsCancellationRequested)
        {
            // Free slot or not: a recall started now could race the next agent's recall of the file.
            throw new RecallNotStartedException();
        }
        if (TakeOrQueue() is { } turn)
        {
            var waiting = Interlocked.Increment(ref _waiting);
            WarnNowAndThen(waiting);
            try
            {
                await using (stopping.Register(() => turn.TrySetCanceled(stopping)))
                {
                    await turn.Task;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                throw new RecallNotStartedException();
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
        }
        try
        {
            return await recall();
        }
        finally
        {
            Leave();
        }
    }

    /// <summary>Takes a free slot (null), or queues for one and returns the turn to wait for.</summary>
    private TaskCompletionSource? TakeOrQueue()
    {
        lock (_lock)
        {
            if (_running < atOnce)
            {
                _running++;
                return null;
            }
            var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _turns.Enqueue(turn);
            return turn;
        }
    }

    /// <summary>Hands the slot to the first recall still waiting (one given up at a stop is passed over), or frees it.</summary>
    private void Leave()
    {
        lock (_lock)
        {
            while (_turns.TryDequeue(out var next))
            {
                if (next.TrySetResult())
                {
                    return;
                }
            }
            _running--;
        }
    }

    private void WarnNowAndThen(int waiting)
    {
        var now = Stopwatch.GetTimestamp();
        var last = Interlocked.Read(ref _warnedAt);
        if ((last == long.MinValue || Stopwatch.GetElapsedTime(last, now) >= WarnEvery)
            && Interlocked.CompareExchange(ref _warnedAt, now, last) == last)
        {
            LogQueued(logger, waiting, atOnce);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Waiting} open(s) of stubs wait their turn while {AtOnce} recalls run at once (run --recalls-at-once): a program is opening many stubs side by side (a virus scanner, a backup, an indexer?)")]
    private static partial void LogQueued(ILogger logger, int waiting, int atOnce);
}
