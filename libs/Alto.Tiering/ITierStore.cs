using Microsoft.Win32.SafeHandles;

namespace Alto.Tiering;

/// <summary>An object on tier 2: its key in the store, its SHA-256 (lower-case hex) and its length.</summary>
public sealed record StoredObject(string Key, string Sha256, long Length)
{
    /// <summary>When the store last wrote the object, where a listing says (for the grace period of orphans).</summary>
    public DateTimeOffset? Modified { get; init; }
}

/// <summary>
/// One tier-2 store. Objects are content-addressed under the tenant's prefix
/// (<see cref="ObjectKeys"/>): putting content hashes it while it streams, so the data is read
/// once, and content the store already holds is not stored twice. Implementations: a mounted
/// path, S3, Azure Blob.
/// </summary>
public interface ITierStore
{
    /// <summary>Which kind of store this is ("path", "s3", "azure").</summary>
    string Kind { get; }

    /// <summary>Streams <paramref name="content"/> to the store and returns where it landed.</summary>
    Task<StoredObject> PutAsync(Guid tenantId, Stream content, CancellationToken cancellationToken);

    /// <summary>Opens an object for reading from <paramref name="offset"/>, all of it or <paramref name="length"/> bytes.</summary>
    /// <exception cref="TierObjectNotFoundException">The key holds no object.</exception>
    Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken);

    /// <summary>The object's length and recorded SHA-256, or null when there is none.</summary>
    Task<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Every object of a tenant in ascending ordinal order of key, starting after
    /// <paramref name="startAfter"/> when given (so a reconciliation resumes where it stopped);
    /// staging leftovers are not listed.
    /// </summary>
    IAsyncEnumerable<StoredObject> ListAsync(Guid tenantId, string? startAfter, CancellationToken cancellationToken);

    /// <summary>Removes an object; removing one that is not there is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Removes an object only if the store shows it last modified before <paramref name="before"/>.
    /// An orphan is reclaimed this way: an upload of the same content (which lands on the same
    /// key) refreshes the object's time, so an object a new record is about to name is kept.
    /// </summary>
    Task<ReclaimOutcome> DeleteUnlessModifiedSinceAsync(string key, DateTimeOffset before, CancellationToken cancellationToken);
}

/// <summary>
/// A store whose writes are durable only once flushed (a mounted file system): several objects
/// can be written first and flushed together, so that their flushes overlap instead of each
/// waiting for the disk in turn. A store without this interface is durable when a put returns.
/// </summary>
public interface IFlushedLaterStore
{
    /// <summary>As <see cref="ITierStore.PutAsync"/>, but the object may not be on disk (nor under its key) until <see cref="FlushAsync"/>.</summary>
    Task<StoredObject> PutUnflushedAsync(Guid tenantId, Stream content, CancellationToken cancellationToken);

    /// <summary>Makes the objects, and their keys, durable: when this returns, a crash keeps every one of them.</summary>
    Task FlushAsync(IReadOnlyCollection<StoredObject> objects, CancellationToken cancellationToken);
}

/// <summary>
/// A store on a mounted file system that takes a local file by a copy inside the kernel (Linux):
/// its bytes never pass through the agent. What it returns was read back from the object it
/// wrote; the caller compares the check with the file's own before anything relies on the copy.
/// </summary>
public interface IFileCopyStore : IFlushedLaterStore
{
    /// <summary>
    /// Copies the whole of <paramref name="source"/> into the store, durable only after
    /// <see cref="IFlushedLaterStore.FlushAsync"/>; null, with nothing stored, where the kernel
    /// cannot copy between the two (put the content as a stream then).
    /// </summary>
    Task<CopiedObject?> PutCopyUnflushedAsync(Guid tenantId, SafeFileHandle source, CancellationToken cancellationToken);
}

/// <summary>An object a store copied a file into: where it landed, and the <see cref="ReadBackCheck"/> of the bytes it holds.</summary>
public sealed record CopiedObject(StoredObject Stored, string Check);

/// <summary>What a conditional delete did.</summary>
public enum ReclaimOutcome
{
    Deleted = 0,
    /// <summary>The object was modified at or after the cut-off: kept.</summary>
    Newer = 1,
    /// <summary>There was no object.</summary>
    Absent = 2,
}

public sealed class TierObjectNotFoundException(string key) : FileNotFoundException($"tier-2 object '{key}' does not exist")
{
    public string Key { get; } = key;
}

/// <summary>The store could not be reached or refused the request (as opposed to a missing object or bad data).</summary>
public sealed class TierStoreUnavailableException(string message, Exception? inner = null) : IOException(message, inner);
