using Alto.Agent.Stubs;

namespace Alto.Agent.Recall;

/// <summary>
/// What may touch a stub's data at one time, per file (file system and inode: inode numbers repeat
/// across volumes). Recalls run one at a time, shared by whoever asks: the opens of a stub by
/// several programs and a recall on command join the one running. Holds — a file being made a
/// stub, or an operation a crash cut short being settled — never run beside a recall: a hold
/// waits for a running recall to end, and a recall asked for while the file is held waits for the
/// hold to end, then its caller looks at the file again. Two of them side by side would each
/// release data on their own judgement: a recall failing releases what it wrote, a settling
/// releases a stub's leftovers, and either, coming last, would leave the file unmarked holes that
/// read as zeros.
/// </summary>
internal sealed class StubWork
{
    private readonly Dictionary<FileIdentity, Task<StubInfo?>> _recalls = [];
    private readonly Dictionary<FileIdentity, FileHold> _holds = [];
    private readonly Lock _lock = new();

    /// <summary>How a recall asked for went: run by this caller, joined to another's, or not run at all because the file was held (look again).</summary>
    public enum Outcome
    {
        Ran,
        Joined,
        WaitedForHold,
    }

    /// <summary>
    /// Runs <paramref name="recall"/> for the file, or waits for the recall of it already running
    /// (whose failure is this call's too), or — while the file is held — waits for the hold to end
    /// and runs nothing: what the hold left is for the caller to look at again.
    /// </summary>
    public async Task<(StubInfo? Stub, Outcome How)> RecallAsync(FileIdentity file, Func<Task<StubInfo?>> recall)
    {
        Task? held = null;
        Task<StubInfo?>? running = null;
        TaskCompletionSource<StubInfo?>? mine = null;
        lock (_lock)
        {
            if (_holds.TryGetValue(file, out var hold))
            {
                held = hold.Released.Task;
            }
            else if (!_recalls.TryGetValue(file, out running))
            {
                mine = new TaskCompletionSource<StubInfo?>(TaskCreationOptions.RunContinuationsAsynchronously);
                _recalls[file] = mine.Task;
            }
        }
        if (held is not null)
        {
            await held;
            return (null, Outcome.WaitedForHold);
        }
        if (mine is null)
        {
            return (await running!, Outcome.Joined);
        }
        try
        {
            var stub = await recall();
            Finished(file);
            mine.SetResult(stub);
            return (stub, Outcome.Ran);
        }
        catch (Exception exception)
        {
            // Gone from the running ones first: an open after this failure tries again by itself.
            Finished(file);
            mine.SetException(exception);
            // Observed here: whoever joined gets it too, and no one joining is no unobserved fault.
            _ = mine.Task.Exception;
            throw;
        }
    }

    /// <summary>
    /// Holds the file until the returned handle is disposed: waits (blocking) for a recall of it
    /// running now to end, whatever its end, then keeps recalls from starting. Holds of one file
    /// add up: recalls wait for the last to end.
    /// </summary>
    public IDisposable Hold(FileIdentity file)
    {
        while (true)
        {
            Task<StubInfo?>? running;
            lock (_lock)
            {
                if (!_recalls.TryGetValue(file, out running))
                {
                    if (_holds.TryGetValue(file, out var hold))
                    {
                        hold.Count++;
                    }
                    else
                    {
                        _holds[file] = hold = new FileHold();
                    }
                    return new OnDispose(() => Unhold(file, hold));
                }
            }
            // Its outcome is not the holder's business: the holder looks at the file as it was left.
            ((IAsyncResult)running).AsyncWaitHandle.WaitOne();
        }
    }

    /// <summary>Runs <paramref name="decide"/> unless the file is held (then false), with no hold taken meanwhile.</summary>
    public bool UnlessHeld(FileIdentity file, Func<bool> decide)
    {
        lock (_lock)
        {
            return !_holds.ContainsKey(file) && decide();
        }
    }

    /// <summary>Waits until the file is not held.</summary>
    public async Task UntilUnheldAsync(FileIdentity file)
    {
        while (true)
        {
            Task held;
            lock (_lock)
            {
                if (!_holds.TryGetValue(file, out var hold))
                {
                    return;
                }
                held = hold.Released.Task;
            }
            await held;
        }
    }

    private void Finished(FileIdentity file)
    {
        lock (_lock)
        {
            _recalls.Remove(file);
        }
    }

    private void Unhold(FileIdentity file, FileHold hold)
    {
        lock (_lock)
        {
            if (--hold.Count > 0)
            {
                return;
            }
            _holds.Remove(file);
        }
        hold.Released.SetResult();
    }

    private sealed class FileHold
    {
        public int Count { get; set; } = 1;

        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
