using System.Threading.Channels;
using Alto.Scanning;

namespace Alto.Agent.Scanning;

/// <summary>
/// Folders read by parallel workers from one shared queue: a folder's reader queues the
/// subfolders it finds, and the walk ends when no folder is queued or being read. Only folders
/// wait in the queue, never the listing, so memory stays flat however large the tree.
/// </summary>
internal static class FolderQueue
{
    /// <summary>Reads every folder from <paramref name="roots"/> down, then completes <paramref name="output"/> (with the first fatal error, if any).</summary>
    public static async Task WalkAsync<TFolder>(
        IReadOnlyCollection<TFolder> roots, int workers, Func<TFolder, Action<TFolder>, CancellationToken, Task> readFolder,
        ChannelWriter<ScanRecord[]> output, CancellationToken cancellationToken)
    {
        if (roots.Count == 0)
        {
            output.TryComplete();
            return;
        }
        var queue = Channel.CreateUnbounded<TFolder>(new UnboundedChannelOptions { SingleReader = false });
        var pending = roots.Count;
        foreach (var root in roots)
        {
            queue.Writer.TryWrite(root);
        }
        void Enqueue(TFolder folder)
        {
            Interlocked.Increment(ref pending);
            queue.Writer.TryWrite(folder);
        }

        Exception? failure = null;
        var readers = Enumerable.Range(0, Math.Max(1, workers)).Select(_ => Task.Run(async () =>
        {
            await foreach (var folder in queue.Reader.ReadAllAsync(cancellationToken))
            {
                try
                {
                    await readFolder(folder, Enqueue, cancellationToken);
                }
                finally
                {
                    if (Interlocked.Decrement(ref pending) == 0)
                    {
                        queue.Writer.TryComplete();
                    }
                }
            }
        }, cancellationToken)).ToArray();
        try
        {
            await Task.WhenAll(readers);
        }
        catch (Exception exception)
        {
            failure = exception;
            queue.Writer.TryComplete();
            throw;
        }
        finally
        {
            output.TryComplete(failure);
        }
    }
}
