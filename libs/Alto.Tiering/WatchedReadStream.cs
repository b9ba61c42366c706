namespace Alto.Tiering;

/// <summary>
/// An object of a folder store read through its store's <see cref="FolderCallWatch"/>: a read
/// that makes no progress (a share whose server is gone) is given up with
/// <see cref="TierStoreUnavailableException"/>, and the stream is not read again.
/// </summary>
internal sealed class WatchedReadStream(Stream inner, FolderCallWatch watch) : GuardedReadStream(inner)
{
    public override long Length => Inner.Length;

    protected override Task<int> ReadGuardedAsync(Memory<byte> own, CancellationToken cancellationToken) =>
        watch.RunAsync("reading an object", progress =>
        {
            progress.Calling(own.Length);
            return Inner.ReadAsync(own, cancellationToken).AsTask();
        }, cancellationToken, read: true);

    protected override Exception Broken() => new ObjectDisposedException(nameof(WatchedReadStream), "an earlier read of this object did not end");
}
