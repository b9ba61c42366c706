using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Alto.Tiering;

/// <summary>
/// Runs a folder store's calls each on a thread of its own and gives one up when it makes no
/// progress for <see cref="Limit"/>, plus the time its current system call may take at the
/// slowest rate a share is allowed (<see cref="SlowestBytesPerSecond"/>). On a share whose server
/// is gone (an NFS hard mount, an SMB server that stopped answering) a create, a write or a
/// flush blocks in the kernel, uninterruptibly, until the server comes back; a tiering job, and
/// every command of the agent queued behind it, would wait as long, with nothing said. A call
/// given up on is left to end by itself: nothing it returns is used (an object it still writes is
/// an orphan the orphan rules reclaim), and until it ends, further writes fail at once rather than
/// add threads to the same wait. Reads (a recall's open, look-up and reads, a listing) still go
/// through, each watched on its own, until <see cref="StuckCallsBeforeReadsFailFast"/> calls are
/// stuck: a share whose server fails over, or a file system frozen for a snapshot, may answer
/// reads again before the write given up on returns, and a program opening a stub then gets its
/// data instead of an error. A slow share that keeps moving bytes is never cut short.
/// </summary>
internal sealed class FolderCallWatch(string root, TimeSpan limit)
{
    /// <summary>The slowest a share may move one call's bytes before the call counts as stalled: the S3 and Azure stores' floor (<see cref="AnswerLimit"/>).</summary>
    public const long SlowestBytesPerSecond = 64 * 1024;

    private readonly Lock _gate = new();
    private int _stuck;
    private long _stuckSince;

    /// <summary>How many calls given up on may still be out before reads, too, fail at once: each holds a thread in the kernel.</summary>
    public const int StuckCallsBeforeReadsFailFast = 16;

    public TimeSpan Limit { get; } = limit;

    /// <summary>
    /// Runs <paramref name="call"/>, which reports its progress as it goes; <paramref name="doing"/>
    /// names it in the error. A <paramref name="read"/> changes nothing on the share.
    /// </summary>
    /// <exception cref="TierStoreUnavailableException">The call made no progress in time, or earlier ones given up on have not ended.</exception>
    public async Task<T> RunAsync<T>(string doing, Func<CallProgress, Task<T>> call, CancellationToken cancellationToken, bool read = false)
    {
        ThrowIfStuck(read);
        var progress = new CallProgress();
        var running = Task.Run(() => call(progress), CancellationToken.None);
        try
        {
            await WatchAsync(running, running, progress, doing, cancellationToken);
        }
        catch
        {
            // What it opens once it ends (a stream) is nobody's: closed then.
            _ = running.ContinueWith(ended => (ended.Result as IDisposable)?.Dispose(),
                CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            throw;
        }
        return await running;
    }

    /// <summary>
    /// Enumerates <paramref name="items"/> on a thread of its own, a thousand items ahead at most;
    /// each wait for the next item is watched as a call is (every item is progress).
    /// </summary>
    public async IAsyncEnumerable<T> EnumerateAsync<T>(
        string doing, Func<CancellationToken, IEnumerable<T>> items, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfStuck(read: true);
        var progress = new CallProgress();
        var ahead = Channel.CreateBounded<T>(new BoundedChannelOptions(1000) { SingleReader = true, SingleWriter = true });
        var producing = Task.Run(async () =>
        {
            try
            {
                foreach (var item in items(cancellationToken))
                {
                    progress.Add(1);
                    await ahead.Writer.WriteAsync(item, cancellationToken);
                }
                ahead.Writer.TryComplete();
            }
            catch (Exception exception)
            {
                // Also how it ends when the reader left early (the channel closed under it).
                ahead.Writer.TryComplete(exception);
            }
        }, CancellationToken.None);
        try
        {
            while (true)
            {
                var next = ahead.Reader.WaitToReadAsync(cancellationToken).AsTask();
                await WatchAsync(next, producing, progress, doing, cancellationToken);
                if (!await next)
                {
                    yield break;
                }
                while (ahead.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }
        }
        finally
        {
            ahead.Writer.TryComplete();
        }
    }

    /// <summary>
    /// Waits for <paramref name="awaited"/> while <paramref name="owner"/> makes progress; gives
    /// <paramref name="owner"/> up when it makes none in time, or when the caller is cancelled.
    /// </summary>
    private async Task WatchAsync(Task awaited, Task owner, CallProgress progress, string doing, CancellationToken cancellationToken)
    {
        var tick = TimeSpan.FromTicks(Math.Min(Limit.Ticks / 4, TimeSpan.TicksPerSecond));
        var (seen, quietSince) = (progress.Done, Stopwatch.GetTimestamp());
        while (true)
        {
            try
            {
                // Its own failure, if it failed, comes out of here as it would from awaiting it.
                await awaited.WaitAsync(tick, cancellationToken);
                return;
            }
            catch (TimeoutException) when (!awaited.IsCompleted)
            {
                // A tick without an end: judged below.
            }
            catch (OperationCanceledException) when (!awaited.IsCompleted && cancellationToken.IsCancellationRequested)
            {
                Abandon(owner);
                throw;
            }
            var allowance = Limit + TimeSpan.FromSeconds(progress.CallBytes / (double)SlowestBytesPerSecond);
            if (progress.Done != seen)
            {
                (seen, quietSince) = (progress.Done, Stopwatch.GetTimestamp());
            }
            else if (Stopwatch.GetElapsedTime(quietSince) >= allowance)
            {
                Abandon(owner);
                throw new TierStoreUnavailableException(
                    $"tier 2's folder {root} made no progress for {allowance.TotalSeconds:0.#} s while {doing} (a share whose server is gone?); the call was given up");
            }
        }
    }

    private void ThrowIfStuck(bool read)
    {
        lock (_gate)
        {
            if (_stuck > 0 && (!read || _stuck >= StuckCallsBeforeReadsFailFast))
            {
                var calls = _stuck == 1 ? "a call given up" : $"{_stuck} calls given up, the first";
                throw new TierStoreUnavailableException(
                    $"tier 2's folder {root} is still not answering: {calls} {Stopwatch.GetElapsedTime(_stuckSince).TotalSeconds:0} s ago has not returned");
            }
        }
    }

    /// <summary>Leaves the call to end by itself, and lets calls through again once it has.</summary>
    private void Abandon(Task running)
    {
        lock (_gate)
        {
            if (_stuck++ == 0)
            {
                _stuckSince = Stopwatch.GetTimestamp();
            }
        }
        _ = running.ContinueWith(ended =>
        {
            lock (_gate)
            {
                _stuck--;
            }
            // Observed, so that a failure of a call nobody waits for is not rethrown on the finalizer thread.
            _ = ended.Exception;
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }
}

/// <summary>What a watched call has done so far, and how many bytes its current system call moves at once.</summary>
internal sealed class CallProgress
{
    private long _done;
    private long _callBytes;

    public long Done => Interlocked.Read(ref _done);

    public long CallBytes => Interlocked.Read(ref _callBytes);

    /// <summary>Before a system call that moves <paramref name="bytes"/> at once (a write, a flush of that much written data).</summary>
    public void Calling(long bytes) => Interlocked.Exchange(ref _callBytes, bytes);

    /// <summary>After a step: <paramref name="bytes"/> more moved (at least 1 for a step that moves none).</summary>
    public void Add(long bytes) => Interlocked.Add(ref _done, Math.Max(1, bytes));
}
