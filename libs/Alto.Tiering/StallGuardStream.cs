namespace Alto.Tiering;

/// <summary>
/// A recall's read of tier 2 that gives up when tier 2 sends nothing for <see cref="Limit"/>: a
/// store that stopped answering (a firewall dropping the flow, an S3 endpoint that hangs, a
/// hard-mounted share whose server is gone) would otherwise keep the program that opened the stub
/// waiting for minutes — the SDKs' own timeouts and retries — or for ever. A read that outlives
/// the limit is left to finish by itself, into a buffer of this stream's own that nothing reads
/// again, and the stream fails with <see cref="TierStoreStalledException"/>; a recall that keeps
/// receiving bytes, however large its object, is never cut short.
/// </summary>
public sealed class StallGuardStream : GuardedReadStream
{
    /// <summary>How long tier 2 may send nothing during a recall unless configured otherwise.</summary>
    public static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(60);

    private StallGuardStream(Stream inner, TimeSpan limit) : base(inner)
    {
        Limit = limit;
    }

    public TimeSpan Limit { get; }

    /// <summary>
    /// Opens <paramref name="key"/> for reading from <paramref name="offset"/> (<paramref name="length"/>
    /// bytes, or to its end), giving up when the store has not answered within <paramref name="limit"/>
    /// (the open goes on by itself, and its stream is closed when it comes).
    /// </summary>
    public static async Task<Stream> OpenReadAsync(
        ITierStore store, string key, TimeSpan limit, CancellationToken cancellationToken, long offset = 0, long? length = null)
    {
        // On a thread of its own: a folder store opens its file synchronously, and an open on a share whose
        // server is gone blocks in the kernel — on the caller's thread it would be out of the limit's reach.
        var opening = Task.Run(() => store.OpenReadAsync(key, offset, length, cancellationToken), CancellationToken.None);
        try
        {
            return new StallGuardStream(await opening.WaitAsync(limit, cancellationToken), limit);
        }
        catch (TimeoutException)
        {
            _ = opening.ContinueWith(opened => opened.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            throw Stalled(limit, "opening");
        }
    }

    protected override async Task<int> ReadGuardedAsync(Memory<byte> own, CancellationToken cancellationToken)
    {
        try
        {
            return await Inner.ReadAsync(own, cancellationToken).AsTask().WaitAsync(Limit, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw Stalled(Limit, "reading");
        }
    }

    protected override Exception Broken() => Stalled(Limit, "reading");

    private static TierStoreStalledException Stalled(TimeSpan limit, string what) =>
        new($"tier 2 sent nothing for {limit.TotalSeconds:0.#} s while {what} the object (a store that stopped answering); the recall was given up");
}

/// <summary>Tier 2 sent nothing for longer than a recall waits (<see cref="StallGuardStream"/>).</summary>
public sealed class TierStoreStalledException(string message) : IOException(message);
