using Microsoft.Extensions.Logging;

namespace Alto.Agent.Recall;

/// <summary>How recalls on open are bounded: how long tier 2 may send nothing, and how many run at once.</summary>
/// <param name="Stall">How long tier 2 may send nothing before a recall is given up (<see cref="Tiering.StallGuardStream"/>).</param>
/// <param name="AtOnce">How many recalls on open read tier 2 at the same time; further opens of stubs wait their turn.</param>
/// <param name="MostWaiting">
/// How many opens of stubs may wait for their recall at once (running, waiting their turn, or
/// joined to another open's recall of the file); one more gets EIO at once.
/// </param>
/// <param name="MostWaitingPerUser">How many of those may be one user's (the user the opening process opens files as: <see cref="LinuxProcesses.FileSystemUser"/>); that user's next open gets EIO at once.</param>
public sealed record RecallLimits(
    TimeSpan Stall, int AtOnce, int MostWaiting = RecallLimits.DefaultMostWaiting, int MostWaitingPerUser = RecallLimits.DefaultMostWaitingPerUser)
{
    /// <summary>
    /// 32,768. Each waiting open holds a descriptor of the agent's: unbounded, a storm of opens would
    /// run it out of descriptors (the kernel then refuses opens with EPERM), and the recall guard,
    /// which answers a dead agent's opens by their numbers, answers numbers below 65,536.
    /// </summary>
    public const int DefaultMostWaiting = 32_768;

    /// <summary>
    /// 8,192, a quarter of <see cref="DefaultMostWaiting"/>: one user's storm of opens (a scanner
    /// with thousands of threads, or someone filling the queue on purpose) cannot take every place,
    /// so other users' opens of stubs still wait their turn rather than get EIO.
    /// </summary>
    public const int DefaultMostWaitingPerUser = 8_192;

    /// <summary>
    /// Sixteen: enough to keep an S3 endpoint or a share busy with small files, and few enough that
    /// a folder target's calls (each a thread in the kernel) and the agent's own work keep threads.
    /// </summary>
    public const int DefaultAtOnce = 16;

    /// <summary>The most recalls at once <c>--recalls-at-once</c> allows.</summary>
    public const int MostAtOnce = 1024;

    public static RecallLimits Default { get; } = new(Tiering.StallGuardStream.DefaultLimit, DefaultAtOnce);
}

/// <summary>An open of a stub refused because <see cref="RecallLimits.MostWaiting"/> (or the user's <see cref="RecallLimits.MostWaitingPerUser"/>) wait for their recall already.</summary>
public sealed class RecallOverloadedException(int mostWaiting, string? user = null)
    : IOException($"{mostWaiting} opens of stubs{(user is null ? "" : " by " + user)} wait for their recall already; the file stays a stub");

/// <summary>An open of a stub whose recall had not had its turn when the agent began to stop: it is still unanswered, and the file still a stub.</summary>
public sealed class RecallNotStartedException() : IOException("the agent stopped before this recall's turn came; the file stays a stub");

/// <summary>
/// Lets <see cref="RecallLimits.AtOnce"/> recalls on open run at a time; the others wait their
/// turn, their programs waiting in the kernel as for any slow recall. A program that opens
/// thousands of stubs side by side (a virus scanner, a backup or an indexer with many threads)
/// would otherwise start as many reads of tier 2 at once: as many connections to an S3 endpoint
/// (which answers a flood with throttling and retries), and on a slow share as many threads
/// blocked in the kernel (each read of a folder target runs on a thread of its own, and the thread
/// pool adds threads only a few a second, so the agent's other work queues behind them). Turns go
/// round the users with opens waiting, one each, and each user's opens keep their order: one
/// user's scan of a thousand stubs does not keep another user's single open waiting behind all of
/// them. Waiting is not a failure, but it is said: a warning at most once a minute while opens
/// queue, and the count in every heartbeat.
/// </summary>
internal sealed partial class RecallSlots(RecallLimits limits, ILogger logger)
{
    private readonly Lock _lock = new();

    /// <summary>Each user's turns waiting, first asked first; a user is here only while some wait.</summary>
    private readonly Dictionary<uint, Queue<TaskCompletionSource>> _turnsByUser = [];

    /// <summary>The users with turns waiting, in the order their next turn comes.</summary>
    private readonly Queue<uint> _usersInTurn = new();

    private readonly RecallAdmission _admission = new(limits, logger);
    private int _running;
    private int _waiting;
    private long _warnedAt = long.MinValue;

    /// <summary>Opens of stubs waiting now for their recall to start.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>
    /// Runs <paramref name="recall"/> once a slot is free and it is <paramref name="user"/>'s turn;
    /// <paramref name="stopping"/> ends the wait (the agent is going away).
    /// </summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> recall, uint user, CancellationToken stopping)
    {
        if (stopping.IsCancellationRequested)
        {
            // Free slot or not: a recall started now could race the next agent's recall of the file.
            throw new RecallNotStartedException();
        }
        if (TakeOrQueue(user) is { } turn)
        {
            Interlocked.Increment(ref _waiting);
            WarnNowAndThen();
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
    /// Counts an open of a stub by <paramref name="user"/> in until <see cref="Dismiss"/> (whether it
    /// runs its recall, waits its turn or joins another's), or refuses it (<see cref="RecallAdmission.TryAdmit"/>).
    /// </summary>
    public RecallOverloadedException? TryAdmit(uint user) => _admission.TryAdmit(user);

    /// <summary>Counts out an open <see cref="TryAdmit"/> counted in.</summary>
    public void Dismiss(uint user) => _admission.Dismiss(user);

    /// <summary>Takes a free slot (null), or queues for one behind the user's earlier turns and returns the turn to wait for.</summary>
    private TaskCompletionSource? TakeOrQueue(uint user)
    {
        lock (_lock)
        {
            if (_running < limits.AtOnce)
            {
                _running++;
                return null;
            }
            var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_turnsByUser.TryGetValue(user, out var turns))
            {
                _turnsByUser[user] = turns = new Queue<TaskCompletionSource>();
                _usersInTurn.Enqueue(user);
            }
            turns.Enqueue(turn);
            return turn;
        }
    }

    /// <summary>
    /// Hands the slot to the next user in turn's first recall still waiting (one given up at a stop
    /// is passed over), that user going to the back of the line; or frees it.
    /// </summary>
    private void Leave()
    {
        lock (_lock)
        {
            while (_usersInTurn.TryDequeue(out var user))
            {
                var turns = _turnsByUser[user];
                var handed = false;
                while (!handed && turns.TryDequeue(out var next))
                {
                    handed = next.TrySetResult();
                }
                if (turns.Count > 0)
                {
                    _usersInTurn.Enqueue(user);
                }
                else
                {
                    _turnsByUser.Remove(user);
                }
                if (handed)
                {
                    return;
                }
            }
            _running--;
        }
    }

    private void WarnNowAndThen()
    {
        if (RecallAdmission.Due(ref _warnedAt) && Queued() is { Waiting: > 0 } queued)
        {
            LogQueued(logger, queued.Waiting, limits.AtOnce, queued.Turns, RecallAdmission.Named(queued.User));
        }
    }

    /// <summary>How many turns wait, and the user with the most of them and how many: whose program the operator may look at.</summary>
    private (int Waiting, uint User, int Turns) Queued()
    {
        lock (_lock)
        {
            var (waiting, most, turns) = (0, RecallAdmission.UnknownUser, 0);
            foreach (var (user, queue) in _turnsByUser)
            {
                waiting += queue.Count;
                if (queue.Count > turns)
                {
                    (most, turns) = (user, queue.Count);
                }
            }
            return (waiting, most, turns);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Waiting} open(s) of stubs wait their turn while {AtOnce} recalls run at once (run --recalls-at-once), {Turns} of them by {User}: a program is opening many stubs side by side (a virus scanner, a backup, an indexer?)")]
    private static partial void LogQueued(ILogger logger, int waiting, int atOnce, int turns, string user);
}
