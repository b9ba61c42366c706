using Alto.Tiering;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// Fault injection around a real store (not a stand-in: every call that is not broken on purpose
/// goes to the real store): unreachable puts, bytes that come back different, or a file written
/// to while its upload runs, a flush that fails. Flushes later as the real store does, when it does.
/// Copies files inside the kernel as the real store does only when <see cref="CopiesFiles"/> is set
/// (else it answers as a store that cannot, and the content is put as a stream).
/// </summary>
internal sealed class FaultyStore(ITierStore inner) : ITierStore, IFileCopyStore
{
    private int _unreachablePuts;
    private int _puts;

    /// <summary>How many puts from now on fail as unreachable (jobs run files side by side: counted atomically).</summary>
    public int UnreachablePuts
    {
        get => Volatile.Read(ref _unreachablePuts);
        set => Volatile.Write(ref _unreachablePuts, value);
    }

    public bool CorruptReads { get; set; }

    public Action? DuringPut { get; set; }

    /// <summary>Awaited before a put reads its content (the put's number, from 1, as the argument).</summary>
    public Func<int, Task>? BeforePut { get; set; }

    /// <summary>Awaited before an object is opened for reading (a recall, a read-back).</summary>
    public Func<CancellationToken, Task>? BeforeRead { get; set; }

    /// <summary>What a read is given instead of the object's own stream (which it is handed).</summary>
    public Func<Stream, Stream>? WrapRead { get; set; }

    /// <summary>When set, every put fails with this (a full or read-only tier 2, as the file system reports it).</summary>
    public Func<Exception>? PutFailure { get; set; }

    /// <summary>When set, every flush of objects put unflushed fails with this (the disk's write error, reported at fsync).</summary>
    public Func<Exception>? FlushFailure { get; set; }

    public int Puts => Volatile.Read(ref _puts);

    public bool CopiesFiles { get; set; }

    /// <summary>Run after a kernel copy, before the caller compares it with the file.</summary>
    public Action? AfterCopy { get; set; }

    public async Task<CopiedObject?> PutCopyUnflushedAsync(Guid tenantId, Microsoft.Win32.SafeHandles.SafeFileHandle source, CancellationToken cancellationToken)
    {
        if (!CopiesFiles || inner is not IFileCopyStore copier)
        {
            return null;
        }
        Interlocked.Increment(ref _puts);
        var copied = await copier.PutCopyUnflushedAsync(tenantId, source, cancellationToken);
        AfterCopy?.Invoke();
        return copied;
    }

    public string Kind => inner.Kind;

    public Task<StoredObject> PutAsync(Guid tenantId, Stream content, CancellationToken cancellationToken) =>
        PutAsync(() => inner.PutAsync(tenantId, content, cancellationToken));

    public Task<StoredObject> PutUnflushedAsync(Guid tenantId, Stream content, CancellationToken cancellationToken) =>
        PutAsync(() => inner is IFlushedLaterStore later ? later.PutUnflushedAsync(tenantId, content, cancellationToken) : inner.PutAsync(tenantId, content, cancellationToken));

    public Task FlushAsync(IReadOnlyCollection<StoredObject> objects, CancellationToken cancellationToken) =>
        FlushFailure is { } failure ? throw failure()
        : inner is IFlushedLaterStore later ? later.FlushAsync(objects, cancellationToken) : Task.CompletedTask;

    private async Task<StoredObject> PutAsync(Func<Task<StoredObject>> put)
    {
        var number = Interlocked.Increment(ref _puts);
        if (BeforePut is { } before)
        {
            await before(number);
        }
        if (PutFailure is { } failure)
        {
            throw failure();
        }
        if (Interlocked.Decrement(ref _unreachablePuts) >= 0)
        {
            throw new TierStoreUnavailableException("connection refused (injected)");
        }
        Interlocked.Increment(ref _unreachablePuts);
        var stored = await put();
        DuringPut?.Invoke();
        return stored;
    }

    public async Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
    {
        if (BeforeRead is { } before)
        {
            await before(cancellationToken);
        }
        var stream = await inner.OpenReadAsync(key, offset, length, cancellationToken);
        if (WrapRead is { } wrap)
        {
            return wrap(stream);
        }
        if (!CorruptReads)
        {
            return stream;
        }
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy, cancellationToken);
        await stream.DisposeAsync();
        copy.GetBuffer()[copy.Length / 2] ^= 0x5a;
        copy.Position = 0;
        return copy;
    }

    public Task<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken) => inner.GetInfoAsync(key, cancellationToken);

    public IAsyncEnumerable<StoredObject> ListAsync(Guid tenantId, string? startAfter, CancellationToken cancellationToken) => inner.ListAsync(tenantId, startAfter, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

    public Task<ReclaimOutcome> DeleteUnlessModifiedSinceAsync(string key, DateTimeOffset before, CancellationToken cancellationToken) =>
        inner.DeleteUnlessModifiedSinceAsync(key, before, cancellationToken);
}
