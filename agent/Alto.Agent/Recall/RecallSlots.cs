using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Recall;

/// <summary>How recalls on open are bounded: how long tier 2 may send nothing, and how many run at once.</summary>
/// <param name="Stall">How long tier 2 may send nothing before a recall is given up (<see cref="Tiering.StallGuardStream"/>).</param>
/// <param name="AtOnce">How many recalls on open read tier 2 at the same time; further opens of stubs wait their turn.</param>
/// <param name="MostWaiting">
/// How many opens of stubs may wait for their recall at once (running, waiting their turn, or
/// joined to another open's recall of the file); one more gets EIO at once.
/// </param>
public sealed record RecallLimits(TimeSpan Stall, int AtOnce, int MostWaiting = RecallLimits.DefaultMostWaiting)
{
    /// <summary>
    /// 32,768. Each waiting open holds a descriptor of the agent's: unbounded, a storm of opens would
    /// run it out of descriptors (the kernel then refuses opens with EPERM), and the recall guard,
    /// which answers a dead agent's opens by their numbers, answers numbers below 65,536.
    /// </summary>
    public const int DefaultMostWaiting = 32_768;

    /// <summary>
    /// Sixteen: enough to keep an S3 endpoint or a share busy with small files, and few enough that
    /// a folder target's calls (each a thread in the kernel) and the agent's own work keep threads.
    /// </summary>
    public const int DefaultAtOnce = 16;

    /// <summary>The most recalls at once <c>--recalls-at-once</c> allows.</summary>
    public const int MostAtOnce = 1024;

    public static RecallLimits Default { get; } = new(Tiering.StallGuardStream.DefaultLimit, DefaultAtOnce);
}

/// <summary>An open of a stub refused because <see cref="RecallLimits.MostWaiting"/> wait for their recall already.</summary>
public sealed class RecallOverloadedException(int mostWaiting)
    : IOException($"{mostWaiting} opens of stubs wait for their recall already; the file stays a stub");

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
internal sealed partial class RecallSlots(int atOnce, int mostWaiting, ILogger logger)
{
    private static readonly TimeSpan WarnEvery = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource> _turns = new();
    private int _running;
    private int _waiting;
    private long _warnedAt = long.MinValue;
    private long _overloadWarnedAt = long.MinValue;
    private int _admitted;

    /// <summary>How many opens of stubs may wait for their recall at once (<see cref="RecallLimits.MostWaiting"/>).</summary>
    public int MostWaiting => mostWaiting;

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

    /// <summary>
    /// Counts an open of a stub in until <see cref="Dismiss"/> (whether it runs its recall, waits its
    /// turn or joins another's); false, with a warning at most once a minute, when
    /// <c>mostWaiting</c> are in already: that open is refused.
    /// </summary>
    public bool TryAdmit()
    {
        if (Interlocked.Increment(ref _admitted) <= mostWaiting)
        {
            return true;
        }
        Interlocked.Decrement(ref _admitted);
        if (Due(ref _overloadWarnedAt))
        {
            LogOverloaded(logger, mostWaiting);
        }
        return false;
    }

    public void Dismiss() => Interlocked.Decrement(ref _admitted);

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
        if (Due(ref _warnedAt))
        {
            LogQueued(logger, waiting, atOnce);
        }
    }

    /// <summary>Whether a warning last given at <paramref name="warnedAt"/> may be given again (at most once a minute); if so, now is the last time.</summary>
    private static bool Due(ref long warnedAt)
    {
        var now = Stopwatch.GetTimestamp();
        var last = Interlocked.Read(ref warnedAt);
        return (last == long.MinValue || Stopwatch.GetElapsedTime(last, now) >= WarnEvery)
               && Interlocked.CompareExchange(ref warnedAt, now, last) == last;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{MostWaiting} opens of stubs wait for their recall already: further opens of stubs get EIO until fewer wait (the files stay stubs; each refusal is reported as a failed recall)")]
    private static partial void LogOverloaded(ILogger logger, int mostWaiting);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Waiting} open(s) of stubs wait their turn while {AtOnce} recalls run at once (run --recalls-at-once): a program is opening many stubs side by side (a virus scanner, a backup, an indexer?)")]
    private static partial void LogQueued(ILogger logger, int waiting, int atOnce);
}
