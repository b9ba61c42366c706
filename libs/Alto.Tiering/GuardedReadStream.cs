using System.Buffers;

namespace Alto.Tiering;

/// <summary>
/// A stream of a tier-2 object whose reads go through a wait that may give up (a store that
/// stopped answering). Each read goes into a buffer of this stream's own, so a read given up on
/// may still land there without touching the caller's memory; after a read that did not end, the
/// stream is not read again, that buffer never goes back to the pool, and the inner stream is
/// closed aside (closing a file whose read hangs may hang as well).
/// </summary>
public abstract class GuardedReadStream(Stream inner) : ReadOnlyForwardStream
{
    private byte[]? _own;
    private bool _broken;

    protected Stream Inner => inner;

    /// <summary>Reads <see cref="Inner"/> into <paramref name="own"/>, or throws when the wait is given up.</summary>
    protected abstract Task<int> ReadGuardedAsync(Memory<byte> own, CancellationToken cancellationToken);

    /// <summary>What a read after one that did not end throws.</summary>
    protected abstract Exception Broken();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_broken)
        {
            throw Broken();
        }
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
            read = await ReadGuardedAsync(own.AsMemory(0, buffer.Length), cancellationToken);
        }
        catch
        {
            // Given up, cancelled or failed: the read may still land in the buffer.
            _broken = true;
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
            // Synchronous readers (a decoder that reads ahead) wait here under the same guard.
#pragma warning disable VSTHRD002 // a synchronous Read has no other way to wait; the guard bounds the wait
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
            if (_broken)
            {
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
