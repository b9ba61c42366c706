using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Alto.Tiering;

/// <summary>
/// Tier 2 on a mounted file system: a directory, an SMB/NFS share mounted on the host, or a UNC
/// path on Windows. An upload is written under incoming/, then renamed to its content address, so
/// a crash never leaves a partial object under a real key; it is durable once its data and its
/// folder are flushed (<see cref="PutAsync"/> does both; <see cref="PutUnflushedAsync"/> leaves
/// them to <see cref="FlushAsync"/>, for several objects at once). The hash is the object's name;
/// nothing else is needed to verify it. Every call is watched (<see cref="FolderCallWatch"/>): on a
/// share whose server is gone it fails as tier 2 unavailable instead of waiting in the kernel.
/// </summary>
public sealed class PathTierStore : ITierStore, IFileCopyStore
{
    private const int CopyBufferSize = 1 << 20;

    /// <summary>How a reclaim names an object it set aside under incoming/: this, the hash, a unique suffix.</summary>
    private const string SetAsidePrefix = "reclaim-";

    private readonly HashSet<string> _checkedTenants = new(StringComparer.Ordinal);
    private readonly string _root;
    private readonly string _prefix;
    private readonly FolderCallWatch _watch;

    /// <summary>How long a call may make no progress unless configured otherwise: as long as a recall waits for tier 2.</summary>
    public static readonly TimeSpan DefaultStallLimit = StallGuardStream.DefaultLimit;

    public PathTierStore(string root, string prefix = "", TimeSpan? stallLimit = null)
    {
        if (!Path.IsPathFullyQualified(root))
        {
            throw new ArgumentException($"a path target needs an absolute path (got '{root}')", nameof(root));
        }
        _root = root;
        _prefix = prefix;
        _watch = new FolderCallWatch(root, stallLimit ?? DefaultStallLimit);
    }

    public string Kind => "path";

    /// <summary>The folder that holds the store.</summary>
    public string Root => _root;

    public Task<StoredObject> PutAsync(Guid tenantId, Stream content, CancellationToken cancellationToken) =>
        _watch.RunAsync("writing an object", async progress =>
        {
            var stored = await WriteObjectAsync(tenantId, content, flushData: true, progress, cancellationToken);
            FlushFolders([stored], progress);
            return stored;
        }, cancellationToken);

    /// <summary>
    /// Where folders can be flushed (Linux), the data is left for <see cref="FlushAsync"/>; elsewhere
    /// the object's data is flushed before its rename, as a single put does (reopening it later to
    /// flush it could collide with a reader of the same content on Windows).
    /// </summary>
    public Task<StoredObject> PutUnflushedAsync(Guid tenantId, Stream content, CancellationToken cancellationToken) =>
        _watch.RunAsync("writing an object",
            progress => WriteObjectAsync(tenantId, content, flushData: !OperatingSystem.IsLinux(), progress, cancellationToken), cancellationToken);

    /// <summary>
    /// Makes the objects durable, with the names the renames gave them (an entry of a folder that
    /// may be new): before this, a crash could leave the data under incoming/ and the key naming
    /// nothing. On Linux a batch flushes tier 2's whole file system once (syncfs: one journal
    /// commit for every object, name and folder, where flushing each object and its two folders
    /// took three); tier 2 is Alto's, so what else waits there to be written is little. One object
    /// alone is flushed with its folders. Elsewhere its put flushed the data already.
    /// </summary>
    public Task FlushAsync(IReadOnlyCollection<StoredObject> objects, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return _watch.RunAsync("flushing objects", progress =>
        {
            if (OperatingSystem.IsLinux() && objects.Count >= FileSystemFlushFrom)
            {
                // One call writes all their data; its progress is their pages written back.
                using (WriteBackWatch.Start(objects.Select(stored => FullPath(stored.Key)), objects.Sum(stored => stored.Length), progress))
                {
                    Native.LinuxFileSystem.FlushFileSystem(_root);
                }
                progress.Add(1);
            }
            else if (OperatingSystem.IsLinux())
            {
                foreach (var stored in objects)
                {
                    using var file = new FileStream(FullPath(stored.Key), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
                    using (WriteBackWatch.Start([FullPath(stored.Key)], stored.Length, progress))
                    {
                        file.Flush(flushToDisk: true);
                    }
                    progress.Add(1);
                }
                FlushFolders(objects, progress);
            }
            // What was flushed is what is there: an object gone since its put (taken by a reclaim) is no copy of anything.
            if (objects.FirstOrDefault(stored => !File.Exists(FullPath(stored.Key))) is { } gone)
            {
                throw new TierObjectNotFoundException(gone.Key);
            }
            return Task.FromResult(true);
        }, cancellationToken);
    }

    /// <summary>
    /// Flushes the folders that hold the objects: each object's, and the fan-out folder above it,
    /// which a first object may have made. Only on Linux; elsewhere folders cannot be flushed (an
    /// SMB share commits a rename when it answers it).
    /// </summary>
    private void FlushFolders(IEnumerable<StoredObject> objects, CallProgress progress)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var folders = objects.Select(stored => Path.GetDirectoryName(FullPath(stored.Key))!)
            .SelectMany(folder => new[] { folder, Path.GetDirectoryName(folder)! }).Distinct(StringComparer.Ordinal);
        progress.Calling(0);
        foreach (var folder in folders)
        {
            Native.LinuxFileSystem.FlushDirectory(folder);
            progress.Add(1);
        }
    }

    /// <summary>From this many objects a flush is one of the whole file system.</summary>
    private const int FileSystemFlushFrom = 2;

    private async Task<StoredObject> WriteObjectAsync(Guid tenantId, Stream content, bool flushData, CallProgress progress, CancellationToken cancellationToken)
    {
        var stagingKey = ObjectKeys.Staging(_prefix, tenantId);
        var staging = FullPath(stagingKey);
        // Objects are copies of users' files: readable by the agent's user only (0600 in 0700 folders), whatever the source's mode.
        PrivateFiles.CreateDirectory(Path.GetDirectoryName(staging)!);
        await using var hashing = new HashingReadStream(content);
        try
        {
            // Unbuffered: the copy's own (pooled) megabyte is written as it is. A stream buffer of that size
            // was a fresh, zeroed megabyte an object (with the source's, about a tenth of tiering's CPU).
            await using (var file = PrivateFiles.Open(staging, FileMode.CreateNew, bufferSize: 0, FileOptions.Asynchronous))
            {
                await CopyAsync(hashing, file, progress, cancellationToken);
                if (flushData)
                {
                    // The object must be on disk before anyone may release the original.
                    using (WriteBackWatch.Start([staging], hashing.BytesRead, progress))
                    {
                        file.Flush(flushToDisk: true);
                    }
                    progress.Add(1);
                }
                // Else written back by the batch's flush (FlushAsync). Not started here: the uploading
                // thread would submit the writes itself and wait in the block layer's write-back throttle.
            }
            var key = ObjectKeys.Content(_prefix, tenantId, hashing.Sha256);
            var final = FullPath(key);
            PrivateFiles.CreateDirectory(Path.GetDirectoryName(final)!);
            progress.Calling(0);
            if (File.Exists(final) && new FileInfo(final).Length == hashing.BytesRead
                && await HoldsAsync(final, await CheckOfAsync(staging, progress, cancellationToken), progress, cancellationToken) && TryRefresh(final))
            {
                // The same content is already there (content addressing de-duplicates), and is young again for the orphan rules.
                // Its bytes are compared, not only its name and length: a damaged object would fail every later read-back of this content.
                File.Delete(staging);
            }
            else
            {
                File.Move(staging, final, overwrite: true);
            }
            return new StoredObject(key, hashing.Sha256, hashing.BytesRead);
        }
        catch
        {
            File.Delete(staging);
            throw;
        }
    }

    /// <summary>The copy loop of a put, each write reported as the progress it is.</summary>
    private static async Task CopyAsync(Stream from, FileStream to, CallProgress progress, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer.AsMemory(0, CopyBufferSize), cancellationToken)) > 0)
            {
                progress.Calling(read);
                await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                progress.Add(read);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Copies the file into staging inside the kernel, then reads the copy back once for its
    /// SHA-256 (its key) and its check, and renames it to its key; where that key already holds an
    /// object of the length, that object is kept only if its bytes are the same (a damaged one is
    /// replaced by the good copy). The data is left for <see cref="FlushAsync"/>.
    /// </summary>
    public Task<CopiedObject?> PutCopyUnflushedAsync(Guid tenantId, SafeFileHandle source, CancellationToken cancellationToken) =>
        OperatingSystem.IsLinux()
            ? _watch.RunAsync("copying a file to it", progress => CopyObjectAsync(tenantId, source, progress, cancellationToken), cancellationToken)
            : Task.FromResult<CopiedObject?>(null);

    private async Task<CopiedObject?> CopyObjectAsync(Guid tenantId, SafeFileHandle source, CallProgress progress, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        var staging = FullPath(ObjectKeys.Staging(_prefix, tenantId));
        PrivateFiles.CreateDirectory(Path.GetDirectoryName(staging)!);
        try
        {
            using (var file = PrivateFiles.Open(staging, FileMode.CreateNew, bufferSize: 0))
            {
                // Written back by the batch's flush, not started here (see WriteObjectAsync).
                if (Native.KernelCopy.TryCopy(source, file.SafeFileHandle, progress) is null)
                {
                    return null;
                }
            }
            string sha256;
            (string Check, long Length) written;
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            using (var copy = File.OpenHandle(staging, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan))
            {
                written = await ReadBackCheck.OfFileWithSha256Async(copy, hash, progress, cancellationToken);
                sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            var key = ObjectKeys.Content(_prefix, tenantId, sha256);
            var final = FullPath(key);
            PrivateFiles.CreateDirectory(Path.GetDirectoryName(final)!);
            progress.Calling(0);
            if (File.Exists(final) && new FileInfo(final).Length == written.Length && await HoldsAsync(final, written.Check, progress, cancellationToken) && TryRefresh(final))
            {
                File.Delete(staging);
            }
            else
            {
                File.Move(staging, final, overwrite: true);
            }
            return new CopiedObject(new StoredObject(key, sha256, written.Length), written.Check);
        }
        finally
        {
            // Gone when it was renamed or found not needed; else a copy that failed or could not be made.
            File.Delete(staging);
        }
    }

    /// <summary>The read-back check of a file the store wrote.</summary>
    private static async Task<string> CheckOfAsync(string path, CallProgress progress, CancellationToken cancellationToken)
    {
        using var written = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        return (await ReadBackCheck.OfFileWithSha256Async(written, sha256: null, progress, cancellationToken)).Check;
    }

    /// <summary>Whether the object at <paramref name="path"/> has the check given; false when it vanished meanwhile (a reclaim took it).</summary>
    private static async Task<bool> HoldsAsync(string path, string check, CallProgress progress, CancellationToken cancellationToken)
    {
        try
        {
            return await CheckOfAsync(path, progress, cancellationToken) == check;
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Marks an object just written again as new; false when it vanished (a reclaim took it), so the upload writes its own.</summary>
    private static bool TryRefresh(string path)
    {
        try
        {
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
            return true;
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    public Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken) =>
        _watch.RunAsync("opening an object", _ => Task.FromResult<Stream>(OpenRead(key, offset, length)), cancellationToken, read: true);

    private WatchedReadStream OpenRead(string key, long offset, long? length)
    {
        var path = FullPath(key);
        FileStream file;
        try
        {
            // Unbuffered: readers bring their own buffers (a recall's is a megabyte), and a buffer per open would cost a
            // large-object allocation for every object a deep reconciliation hashes.
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new TierObjectNotFoundException(key);
        }
        file.Seek(offset, SeekOrigin.Begin);
        // Its reads watched as every other call is: a read-back, a deep reconciliation or a restore never waits for ever.
        return new WatchedReadStream(length is { } bounded ? new BoundedReadStream(file, bounded) : file, _watch);
    }

    public Task<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken) =>
        _watch.RunAsync("looking up an object", _ =>
        {
            var file = new FileInfo(FullPath(key));
            return Task.FromResult(file.Exists && ObjectKeys.Sha256Of(key) is { } sha256 ? new StoredObject(key, sha256, file.Length) : null);
        }, cancellationToken, read: true);

    /// <summary>
    /// Sets the object aside under incoming/ first, then judges its time: an upload that refreshed
    /// it before the move leaves it new (it is put back), and one after the move finds no object to
    /// refresh and writes its own. Either way the upload's object is there when it returns. The
    /// set-aside name carries the hash, so one a crash left behind is put back (see <see cref="PutBackSetAside"/>).
    /// </summary>
    public Task<ReclaimOutcome> DeleteUnlessModifiedSinceAsync(string key, DateTimeOffset before, CancellationToken cancellationToken) =>
        _watch.RunAsync("reclaiming an object", _ => Task.FromResult(DeleteUnlessModifiedSince(key, before)), cancellationToken);

    private ReclaimOutcome DeleteUnlessModifiedSince(string key, DateTimeOffset before)
    {
        if (ObjectKeys.Sha256Of(key) is not { } sha256)
        {
            throw new ArgumentException($"'{key}' is not a content key", nameof(key));
        }
        var tenantFolder = key[..^(ObjectKeys.FanOutLength + sha256.Length)];
        PutBackSetAside(tenantFolder);
        var path = FullPath(key);
        var aside = FullPath($"{tenantFolder}incoming/{SetAsidePrefix}{sha256}-{Guid.NewGuid():N}");
        try
        {
            PrivateFiles.CreateDirectory(Path.GetDirectoryName(aside)!);
            File.Move(path, aside);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return ReclaimOutcome.Absent;
        }
        if (File.GetLastWriteTimeUtc(aside) < before.UtcDateTime)
        {
            File.Delete(aside);
            return ReclaimOutcome.Deleted;
        }
        PutBack(aside, path);
        return ReclaimOutcome.Newer;
    }

    /// <summary>
    /// Puts back the objects a reclaim set aside under a tenant's incoming/ and did not finish with
    /// (its process died between the move and the judgement): once per tenant and store, before
    /// the store lists or deletes there. An object whose key holds it again is not needed twice.
    /// </summary>
    private void PutBackSetAside(string tenantFolder)
    {
        lock (_checkedTenants)
        {
            if (!_checkedTenants.Add(tenantFolder))
            {
                return;
            }
        }
        var incoming = new DirectoryInfo(FullPath(tenantFolder + "incoming"));
        if (!incoming.Exists)
        {
            return;
        }
        foreach (var aside in incoming.EnumerateFiles(SetAsidePrefix + "*"))
        {
            var sha256 = aside.Name.Length > SetAsidePrefix.Length + 64 ? aside.Name.Substring(SetAsidePrefix.Length, 64) : "";
            if (ObjectKeys.IsSha256(sha256))
            {
                var path = FullPath($"{tenantFolder}{sha256[..2]}/{sha256[2..4]}/{sha256}");
                PrivateFiles.CreateDirectory(Path.GetDirectoryName(path)!);
                PutBack(aside.FullName, path);
            }
        }
    }

    private static void PutBack(string aside, string path)
    {
        try
        {
            File.Move(aside, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // A new upload wrote the same content meanwhile: the set-aside copy is not needed.
            File.Delete(aside);
        }
    }

    public IAsyncEnumerable<StoredObject> ListAsync(Guid tenantId, string? startAfter, CancellationToken cancellationToken) =>
        _watch.EnumerateAsync("listing objects", token => List(tenantId, startAfter, token), cancellationToken);

    private IEnumerable<StoredObject> List(Guid tenantId, string? startAfter, CancellationToken cancellationToken)
    {
        // A share that is not mounted must not read as a store without objects: every stub would look lost.
        if (!Directory.Exists(_root))
        {
            throw new TierStoreUnavailableException($"the target folder {_root} does not exist (is the share mounted?)");
        }
        var tenantKey = ObjectKeys.TenantPrefix(_prefix, tenantId);
        PutBackSetAside(tenantKey);
        var tenantRoot = FullPath(tenantKey);
        return Directory.Exists(tenantRoot) ? PathStoreListing.List(tenantRoot, tenantKey, startAfter, cancellationToken) : [];
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        _watch.RunAsync("deleting an object", _ =>
        {
            File.Delete(FullPath(key));
            return Task.FromResult(true);
        }, cancellationToken);

    private string FullPath(string key)
    {
        var full = Path.GetFullPath(Path.Combine(_root, key));
        var root = Path.GetFullPath(_root);
        root = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        // Keys come from stubs and the cluster, but a path store never touches anything outside its
        // root: compared by whole segments (a root /t2 does not contain /t2-other/x).
        return full.StartsWith(root, StringComparison.Ordinal)
            ? full
            : throw new ArgumentException($"key '{key}' leaves the store's root", nameof(key));
    }
}
