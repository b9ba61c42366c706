using Alto.Agent.Stubs;

namespace Alto.Agent.Jobs;

/// <summary>
/// Takes the names of one file in a job (hard links: one inode, several paths, as backup trees
/// made with <c>rsync --link-dest</c> hold by the million) one at a time. A name is looked at only
/// once every other name of its file in flight has been made a stub or left as it was, so it finds
/// the stub made through the first name and is reported as that stub. Side by side, the second
/// name would be read after the first one's data was released, as holes (the agent's own reads
/// never recall), and uploaded as zeros.
/// </summary>
internal sealed class SameFileGate
{
    private readonly Dictionary<FileIdentity, TaskCompletionSource> _inFlight = [];
    private readonly Lock _lock = new();

    /// <summary>
    /// Waits until no other name of the file is in flight, then holds the file until the returned
    /// handle is disposed (any number of times). A file whose identity the platform does not give
    /// (inode 0) is never held.
    /// </summary>
    public async Task<IDisposable> EnterAsync(FileIdentity file, CancellationToken cancellationToken)
    {
        if (file.Inode == 0)
        {
            return OnDispose.Nothing;
        }
        while (true)
        {
            Task otherName;
            lock (_lock)
            {
                if (!_inFlight.TryGetValue(file, out var holder))
                {
                    var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _inFlight[file] = mine;
                    return new OnDispose(() => Leave(file, mine));
                }
                otherName = holder.Task;
            }
            await otherName.WaitAsync(cancellationToken);
        }
    }

    private void Leave(FileIdentity file, TaskCompletionSource mine)
    {
        lock (_lock)
        {
            _inFlight.Remove(file);
        }
        mine.TrySetResult();
    }
}
