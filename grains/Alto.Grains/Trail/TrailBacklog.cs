using Microsoft.Extensions.Options;

namespace Alto.Grains.Trail;

/// <summary>A batch staged for a host and not applied yet, and whether it holds reads only.</summary>
public readonly record struct PendingTrailBatch(Guid Id, bool ReadsOnly);

/// <summary>
/// Applies a host's staged trail batches in the order they came, where order matters: consecutive
/// batches of reads only go side by side (up to <see cref="TrailOptions.ReadBatchesAtOnce"/>),
/// and a batch with writes, deletes or moves waits for every batch before it and holds back every
/// batch after it (a read after a move must find the file at its new path).
/// </summary>
public sealed class TrailBacklog(TrailUpdateApplier applier, IOptions<TrailOptions> options)
{
    /// <summary>
    /// Calls <paramref name="applyOne"/> for every batch pending for the host. When one fails, no
    /// further batch is started; those already running finish, and the first failure is thrown.
    /// </summary>
    public async Task ApplyAsync(Guid hostId, Func<Guid, Task> applyOne, CancellationToken cancellationToken)
    {
        foreach (var run in Runs(await applier.PendingBatchesAsync(hostId, cancellationToken)))
        {
            await ApplyRunAsync(run, Math.Min(options.Value.ReadBatchesAtOnce, run.Length), applyOne, cancellationToken);
        }
    }

    /// <summary>The batches in runs applied one after another: consecutive reads-only batches together, any other batch alone.</summary>
    public static IEnumerable<PendingTrailBatch[]> Runs(IReadOnlyList<PendingTrailBatch> pending)
    {
        var reads = new List<PendingTrailBatch>();
        foreach (var batch in pending)
        {
            if (batch.ReadsOnly)
            {
                reads.Add(batch);
                continue;
            }
            if (reads.Count > 0)
            {
                yield return [.. reads];
                reads.Clear();
            }
            yield return [batch];
        }
        if (reads.Count > 0)
        {
            yield return [.. reads];
        }
    }

    private static async Task ApplyRunAsync(PendingTrailBatch[] run, int atOnce, Func<Guid, Task> applyOne, CancellationToken cancellationToken)
    {
        var next = -1;
        var failed = 0;
        async Task TakeInTurnAsync()
        {
            int taken;
            while (Volatile.Read(ref failed) == 0 && (taken = Interlocked.Increment(ref next)) < run.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    await applyOne(run[taken].Id);
                }
                catch
                {
                    Volatile.Write(ref failed, 1);
                    throw;
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, atOnce).Select(_ => TakeInTurnAsync()));
    }
}
