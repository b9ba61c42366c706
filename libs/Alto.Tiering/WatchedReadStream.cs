using System.Buffers;

namespace Alto.Tiering;

/// <summary>
/// An object of a folder store read through its store's <see cref="FolderCallWatch"/>: a read
/// that makes no progress (a share whose server is gone) is given up with
/// <see cref="TierStoreUnavailableException"/>, and the stream is not read again. Each read goes
/// into a buffer of this stream's own, so that one given up on may still land there without
/// touching the caller's; that buffer is only given back to the pool when no read was given up.
/// </summary>
internal sealed class WatchedReadStream(Stream inner, FolderCallWatch watch) : ReadOnlyForwardStream
{
    private byte[]? _own;
    private bool _givenUp;

    public override long Length => inner.Length;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_givenUp, "an earlier read of this object did not end");
        if (_own is null || _own.Length < buffer.Length)
        {
            if (_own is not null)
            {
                ArrayPool<byte>.Shared.Return(_own);
            }
            _own = ArrayPool<byte>.Shared.Rent(buffer.Length);
        }
        var own = _own;
        int read;
        try
        {
            read = await watch.RunAsync("reading an object", progress =>
            {
                progress.Calling(buffer.Length);
                return inner.ReadAsync(own.AsMemory(0, buffer.Length), cancellationToken).AsTask();
            }, cancellationToken);
        }
        catch
        {
            // Given up, cancelled or failed: the read may still land in the buffer, which is never read or pooled again.
            _givenUp = true;
            throw;
        }
        own.AsSpan(0, read).CopyTo(buffer.Span);
        return read;
    }

    public override int Read(Span<byte> buffer)
    {
        var own = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            // Synchronous readers (a decoder that reads ahead) wait here under the same watch.
#pragma warning disable VSTHRD002 // a synchronous Read has no other way to wait; the watch bounds the wait
            var read = ReadAsync(own.AsMemory(0, buffer.Length), CancellationToken.None).AsTask().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
            own.AsSpan(0, read).CopyTo(buffer);
            return read;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(own);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (_givenUp)
            {
                // Closing a file whose read hangs may hang as well: closed aside, and its buffer left to the collector.
                _ = Task.Run(inner.Dispose);
            }
            else
            {
                inner.Dispose();
                if (_own is not null)
                {
                    ArrayPool<byte>.Shared.Return(_own);
                }
            }
            _own = null;
        }
        base.Dispose(disposing);
    }
}
