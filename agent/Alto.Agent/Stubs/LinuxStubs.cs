using System.Buffers;
using System.Globalization;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using Alto.Tiering;
using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Stubs;

/// <summary>
/// Linux stubs (DESIGN.md §4): the same inode keeps its name, size, owner, mode and times; its
/// data blocks are released with a punched hole and <c>trusted.alto.*</c> attributes say where the
/// data is and which file they were made for (version-1 stubs carry <c>user.alto.*</c> ones). Both directions are ordered so that a crash at any point leaves either the original
/// bytes or a valid stub: attributes go on before the data is released (locator last), and the
/// data is written back, verified and flushed before the attributes come off (locator first).
/// </summary>
[SupportedOSPlatform("linux")]
public static class LinuxStubs
{
    /// <summary>What a recall writes at once (at most; a smaller file, its size).</summary>
    private const int RecallBufferSize = 1 << 20;

    /// <summary>The stub facts of a file, or null when it is not a stub.</summary>
    public static StubInfo? Read(SafeFileHandle file) => Read(LinuxFiles.Fd(file));

    public static StubInfo? Read(int fd) => FromAttributes(name => LinuxFiles.GetAttribute(fd, name));

    /// <summary>The stub facts of a path, read without opening it: no fanotify event, so no recall.</summary>
    public static StubInfo? Peek(string path) => FromAttributes(name => LinuxFiles.GetAttributeByPath(path, name));

    /// <summary>
    /// A stub is a file with a locator; its other attributes must then all be there and readable.
    /// The version-1 markers (<c>user.alto.*</c>) are read when there are no others.
    /// </summary>
    private static StubInfo? FromAttributes(Func<string, string?> attribute)
    {
        var legacy = false;
        if (attribute(StubInfo.LocatorAttribute) is not { } locator)
        {
            if (attribute(StubInfo.LegacyName(StubInfo.LocatorAttribute)) is not { } legacyLocator)
            {
                return null;
            }
            (legacy, locator) = (true, legacyLocator);
        }
        string? Marker(string name) => attribute(legacy ? StubInfo.LegacyName(name) : name);
        var sha256 = Marker(StubInfo.Sha256Attribute);
        var length = Marker(StubInfo.LengthAttribute);
        var target = Marker(StubInfo.TargetAttribute);
        var binding = legacy ? null : StubBinding.Parse(Marker(StubInfo.BindingAttribute));
        return sha256 is null || !long.TryParse(length, NumberStyles.None, CultureInfo.InvariantCulture, out var size) || !Guid.TryParse(target, out var targetId)
            || !legacy && binding is null
            ? throw new InvalidDataException("the file has an Alto locator but its other stub attributes are missing or damaged")
            : new StubInfo(targetId, locator, sha256, size) { Codec = Marker(StubInfo.CodecAttribute), Binding = binding, IsLegacy = legacy };
    }

    /// <summary>Whether the open file carries a stub locator (either version), without reading the rest.</summary>
    public static bool HasMarkers(int fd) =>
        LinuxFiles.GetAttribute(fd, StubInfo.LocatorAttribute) is not null || LinuxFiles.GetAttribute(fd, StubInfo.LegacyName(StubInfo.LocatorAttribute)) is not null;

    public static StubInfo? Read(string path)
    {
        using var file = LinuxFiles.OpenByPath(path, FileAccess.Read);
        return Read(file);
    }

    /// <summary>
    /// Turns a file whose data tier 2 holds (verified) into a stub. <paramref name="readAt"/> is
    /// the file's status taken before the agent read it: the stub gets those access and
    /// modification times back (the agent's own read must not make a cold file look warm), and
    /// a file whose size or modification time differs from it changed since it was read: it is
    /// refused and left as it is. With <paramref name="recall"/>, other programs' opens of the file
    /// wait while it is made a stub, and any ignore mark it carries from earlier opens goes before
    /// its data does: a stub is watched from the moment it is one, so it never reads as zeros.
    /// </summary>
    public static void MakeStub(string path, StubInfo stub, FileTimes readAt, Recall.IStubRecallHooks? recall = null)
    {
        if (MakeStubs([new StubRequest(path, stub, readAt)], recall)[0] is { } failure)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>
    /// Makes each file a stub as <see cref="MakeStub"/> does, with the markers of all written before
    /// any is flushed: the first file's flush commits the file system's journal with every other
    /// file's attributes in it, so the others' flushes find theirs on disk already (one journal commit
    /// a batch, not one a file). Each file still has its markers on disk, is watched and is checked
    /// for changes before its own data is released. One result per request: null when the file is a
    /// stub, else the exception that left it as it was.
    /// </summary>
    public static Exception?[] MakeStubs(IReadOnlyList<StubRequest> requests, Recall.IStubRecallHooks? recall = null)
    {
        var results = new Exception?[requests.Count];
        var marked = new MarkedFile?[requests.Count];
        try
        {
            for (var i = 0; i < requests.Count; i++)
            {
                try
                {
                    marked[i] = Mark(requests[i], recall);
                }
                catch (Exception exception) when (exception is not OutOfMemoryException)
                {
                    results[i] = exception;
                }
            }
            for (var i = 0; i < requests.Count; i++)
            {
                if (marked[i] is { } file)
                {
                    try
                    {
                        Release(file, recall);
                    }
                    catch (Exception exception) when (exception is not OutOfMemoryException)
                    {
                        results[i] = exception;
                    }
                    // Its opens wait no longer than its own stubbing takes.
                    file.Dispose();
                    marked[i] = null;
                }
            }
        }
        finally
        {
            foreach (var file in marked)
            {
                file?.Dispose();
            }
        }
        return results;
    }

    /// <summary>A file open for stubbing, its markers written, its opens held.</summary>
    private sealed class MarkedFile(StubRequest request, SafeFileHandle file, IDisposable? hold) : IDisposable
    {
        public StubRequest Request => request;

        public int Fd => LinuxFiles.Fd(file);

        public void Dispose()
        {
            hold?.Dispose();
            file.Dispose();
        }
    }

    /// <summary>
    /// Opens the file, checks it against its status before the read, holds its opens and writes its
    /// markers. Opened read-only (markers, flushes and times need no more), so that the probe for
    /// other writers (<see cref="WriterProbe"/>) does not count this open as one.
    /// </summary>
    private static MarkedFile Mark(StubRequest request, Recall.IStubRecallHooks? recall)
    {
        var file = LinuxFiles.OpenWithoutWaiting(request.Path, FileAccess.Read);
        IDisposable? hold = null;
        try
        {
            var fd = LinuxFiles.Fd(file);
            var now = LinuxFiles.Stat(fd);
            if (ChangedSince(now, request.ReadAt) || now.Size != request.Stub.Length)
            {
                throw new FileChangedException(request.Path);
            }
            // Made a stub since it was read, through another of its names (a hard link) or by another
            // process: releasing data changes no time, and the agent's own reads never recall, so what
            // was read after that was the holes. The stub it is stays; nothing of it is touched here.
            if (HasMarkers(fd))
            {
                throw new FileChangedException(request.Path, madeAStubMeanwhile: true);
            }
            hold = recall?.HoldOpens(now.Identity);
            try
            {
                WriteMarkers(file, request.Stub, new StubBinding(now.Inode, LinuxFiles.Generation(fd)));
            }
            catch (IOException)
            {
                RemoveAttributes(fd);
                throw;
            }
            return new MarkedFile(request, file, hold);
        }
        catch
        {
            hold?.Dispose();
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Flushes the markers, watches the file, checks it once more and that no one else may write
    /// to it, then releases its data.
    /// </summary>
    private static void Release(MarkedFile file, Recall.IStubRecallHooks? recall)
    {
        var fd = file.Fd;
        var readAt = file.Request.ReadAt;
        SafeFileHandle writable;
        try
        {
            LinuxFiles.Sync(fd);
            recall?.Watch(fd);
            // A program that had the file open before it was watched may have written to it since the first look.
            if (ChangedSince(LinuxFiles.Stat(fd), readAt))
            {
                throw new FileChangedException(file.Request.Path);
            }
            // New opens now wait for the stub; one for writing made before may still write, through
            // a mapped page without changing any time, and those bytes would go with the data.
            if (WriterProbe.OthersMayWrite(fd) == true)
            {
                throw new FileInUseException(file.Request.Path);
            }
            writable = ReopenForWriting(fd, readAt.Identity);
        }
        catch (IOException)
        {
            // The data was not released, so the file is not a stub; leave no stray attributes either.
            RemoveAttributes(fd);
            throw;
        }
        using (writable)
        {
            // No flush after the release: if a crash undoes it, the file holds its attributes and all
            // of its own bytes, which recall and recovery both treat as a stub.
            LinuxFiles.PunchHole(writable, readAt.Size);
            LinuxFiles.RestoreTimes(fd, readAt);
        }
    }

    /// <summary>
    /// The same file opened for writing (releasing data needs it), through the descriptor rather than
    /// its path, which may lead elsewhere by now; checked to be the same file all the same.
    /// </summary>
    private static SafeFileHandle ReopenForWriting(int fd, FileIdentity identity)
    {
        var writable = LinuxFiles.OpenWithoutWaiting($"/proc/self/fd/{fd}", FileAccess.ReadWrite);
        if (LinuxFiles.Stat(writable).Identity != identity)
        {
            writable.Dispose();
            throw new IOException($"reopening {LinuxFiles.PathOf(fd)} for writing reached another file");
        }
        return writable;
    }

    /// <summary>Writes the stub's markers, bound to <paramref name="binding"/>, in <see cref="StubInfo.AttributesInWriteOrder"/> (the locator last).</summary>
    public static void WriteMarkers(SafeFileHandle file, StubInfo stub, StubBinding binding)
    {
        foreach (var name in StubInfo.AttributesInWriteOrder)
        {
            var value = name switch
            {
                StubInfo.TargetAttribute => stub.TargetId.ToString(),
                StubInfo.Sha256Attribute => stub.Sha256,
                StubInfo.LengthAttribute => StubInfo.FormatLength(stub.Length),
                StubInfo.VersionAttribute => StubInfo.CurrentVersion.ToString(CultureInfo.InvariantCulture),
                StubInfo.CodecAttribute => stub.Codec,
                StubInfo.BindingAttribute => binding.ToString(),
                _ => stub.Locator,
            };
            if (value is not null)
            {
                LinuxFiles.SetAttribute(file, name, value);
            }
        }
    }

    /// <summary>
    /// Whether the file at the path is another file, or another version of it, than the one read.
    /// By file system and inode: a folder swapped for a link may lead to another volume's file of
    /// the same inode number (and, set by its owner, the same size and times).
    /// </summary>
    private static bool ChangedSince(FileTimes now, FileTimes readAt) =>
        now.Identity != readAt.Identity || now.Size != readAt.Size || now.ModifySeconds != readAt.ModifySeconds || now.ModifyNanoseconds != readAt.ModifyNanoseconds;

    /// <summary>
    /// Takes every stub attribute off, of both versions (the locators first: without them the file
    /// is no stub, whatever else is left).
    /// </summary>
    public static void RemoveAttributes(int fd)
    {
        LinuxFiles.RemoveAttribute(fd, StubInfo.LocatorAttribute);
        LinuxFiles.RemoveAttribute(fd, StubInfo.LegacyName(StubInfo.LocatorAttribute));
        foreach (var name in StubInfo.AttributesInWriteOrder)
        {
            LinuxFiles.RemoveAttribute(fd, name);
            LinuxFiles.RemoveAttribute(fd, StubInfo.LegacyName(name));
        }
    }

    /// <summary>
    /// Recalls a stub by path (on command); the caller's open does not count as a user's access.
    /// With <paramref name="refusal"/> (the cluster asked), the file the path reaches is judged by it before anything is opened.
    /// With <paramref name="recall"/> (recall on open armed), an open's recall of the file running
    /// now is joined rather than raced (<see cref="Recall.StubWork"/>); the answer is then null.
    /// </summary>
    /// <exception cref="StubRefusedException">The path leads out of where <paramref name="refusal"/> allows, or is not a regular file.</exception>
    public static async Task<StubInfo?> RecallAsync(
        string path, Func<Guid, ITierStore> stores, CancellationToken cancellationToken, RecallCluster? cluster = null, Func<string, string?>? refusal = null,
        Recall.IStubRecallHooks? recall = null)
    {
        using var file = refusal is null ? LinuxFiles.OpenByPath(path, FileAccess.ReadWrite) : OpenWithin(path, refusal);
        var fd = LinuxFiles.Fd(file);
        // With recall on open armed, an open's recall of this file running now is joined, not raced.
        return recall is null
            ? await RecallAsync(fd, path, stores, cancellationToken, cluster)
            : await recall.RecallOnceAsync(LinuxFiles.Stat(fd).Identity, () => RecallAsync(fd, path, stores, cancellationToken, cluster));
    }

    /// <summary>
    /// Opens the regular file <paramref name="path"/> names for writing only after judging where the
    /// path went (<see cref="RegularFileOpen"/>): a local user who swaps a folder for a link between
    /// the cluster's scope check and this open, or puts a link where the stub was, would otherwise
    /// have the agent open it and rehydrate a file outside its volumes.
    /// </summary>
    private static SafeFileHandle OpenWithin(string path, Func<string, string?> refusal) =>
        RegularFileOpen.Open(path, FileAccess.ReadWrite, refusal, out var refused)
        ?? throw new StubRefusedException(path, refused + "; nothing was recalled");

    /// <summary>
    /// Writes a stub's data back from tier 2 through <paramref name="fd"/> (a path's descriptor, or
    /// an fanotify event's), hashing on the way. Only when the hash matches are the attributes
    /// removed; otherwise the data is released again and the file stays a stub. Nothing is written
    /// before <see cref="StubTrust"/> has found the stub to be this file's (<paramref name="cluster"/> asked).
    /// </summary>
    /// <returns>The stub that was recalled, or null when the file was not a stub.</returns>
    /// <exception cref="StubRefusedException">The stub's markers are not this file's, or the cluster's record contradicts them.</exception>
    public static async Task<StubInfo?> RecallAsync(
        int fd, string name, Func<Guid, ITierStore> stores, CancellationToken cancellationToken, RecallCluster? cluster = null, TimeSpan? stallLimit = null)
    {
        if (Read(fd) is not { } stub)
        {
            return null;
        }
        await StubTrust.VerifyAsync(fd, name, stub, cluster?.Check, cancellationToken);
        var before = LinuxFiles.Stat(fd);
        using var target = await WritableAsync(fd, before.Identity, name, cancellationToken);
        var writable = LinuxFiles.Fd(target);
        long written;
        try
        {
            var store = stores(stub.TargetId);
            // Tier 2 that stops answering fails the recall (the opener gets EIO, the file stays a stub) instead of holding the opener.
            await using var stored = await StallGuardStream.OpenReadAsync(store, stub.Locator, stallLimit ?? StallGuardStream.DefaultLimit, cancellationToken);
            await using var source = await stub.DecodeAsync(stored, cluster?.Unwrap, cancellationToken);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            // The whole file one hole (a stub's data is released already; this makes sure), so a range left unwritten reads as zeros.
            LinuxFiles.PunchHole(writable, before.Size);
            var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(stub.Length, 1, RecallBufferSize));
            try
            {
                long offset = 0;
                int read;
                // Whole buffers, however little each read of tier 2 brings (an S3 response comes in
                // pieces of kilobytes): each write of the file is an event the listener answers, the
                // agent's own, so fewer and larger writes cost fewer round trips.
                while ((read = await source.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await WriteLeavingHolesAsync(target, buffer.AsMemory(0, read), offset, cancellationToken);
                    offset += read;
                }
                written = offset;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (written != stub.Length || sha256 != stub.Sha256)
            {
                throw new InvalidDataException($"tier 2 returned {written} bytes with SHA-256 {sha256}; the stub expects {stub.Length} bytes with {stub.Sha256}");
            }
            LinuxFiles.Sync(fd);
        }
        catch (Exception exception)
        {
            // Whatever was written back is released again: the file stays the stub it was.
            LinuxFiles.PunchHole(writable, before.Size);
            LinuxFiles.RestoreTimes(fd, before);
            if (exception is OperationCanceledException)
            {
                throw;
            }
            throw new StubRecallException(name, exception.Message, exception);
        }
        RemoveAttributes(fd);
        LinuxFiles.RestoreTimes(fd, before);
        LinuxFiles.Sync(fd);
        return stub;
    }

    /// <summary>How long a recall tries to open its file for writing while another program's lease on it is being broken: the kernel's own limit and a little.</summary>
    private static TimeSpan LeaseBreakPatience()
    {
        try
        {
            return TimeSpan.FromSeconds(int.Parse(File.ReadAllText("/proc/sys/fs/lease-break-time").Trim(), CultureInfo.InvariantCulture) + 5);
        }
        catch (Exception exception) when (exception is IOException or FormatException or OverflowException or UnauthorizedAccessException)
        {
            return TimeSpan.FromSeconds(50);
        }
    }

    /// <summary>
    /// The descriptor a recall writes through: <paramref name="fd"/> when it is open for writing (a
    /// recall on command), else the file opened again for writing through it. An fanotify event's
    /// descriptor is read-only (<see cref="Recall.Fanotify.Init"/>), so that reading an event never
    /// waits on another program's lease. The write open here breaks read leases too, but in this
    /// recall's own task and without sleeping in the kernel: while the holder gives the file up it
    /// tries again every 50 ms, so only the openers of this one file wait, and no longer than the
    /// kernel lets a holder keep a lease it was asked to give up (fs.lease-break-time).
    /// </summary>
    private static async Task<SafeFileHandle> WritableAsync(int fd, FileIdentity identity, string name, CancellationToken cancellationToken)
    {
        if (LinuxFiles.OpenForWriting(fd))
        {
            return new SafeFileHandle(fd, ownsHandle: false);
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // Read only once a lease is in the way: nearly every recall opens at the first try.
        TimeSpan? patience = null;
        while (true)
        {
            try
            {
                return ReopenForWriting(fd, identity);
            }
            catch (FileInUseException) when (System.Diagnostics.Stopwatch.GetElapsedTime(started) < (patience ??= LeaseBreakPatience()))
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (FileInUseException)
            {
                throw new StubRecallException(name, $"another program holds a lease on the file and did not give it up in {patience!.Value.TotalSeconds:0} s; nothing was written");
            }
        }
    }

    /// <summary>
    /// Writes recalled data at <paramref name="offset"/> of a file that is one hole there, except
    /// its blocks of zeros, which stay holes: a sparse file (a VM image, a database's preallocated
    /// file) comes back taking the space it took, not its full size — which could fill the volume
    /// and fail its own recall.
    /// </summary>
    private static async Task WriteLeavingHolesAsync(SafeFileHandle target, ReadOnlyMemory<byte> data, long offset, CancellationToken cancellationToken)
    {
        const int Block = 4096;
        var run = -1;
        for (var at = 0; at < data.Length;)
        {
            // Blocks as the file system has them: aligned to the file's offsets, not the buffer's.
            var next = (int)Math.Min(data.Length, at + Block - ((offset + at) % Block));
            var zeros = AllZeros(data[at..next]);
            if (zeros && run >= 0)
            {
                await RandomAccess.WriteAsync(target, data[run..at], offset + run, cancellationToken);
                run = -1;
            }
            else if (!zeros && run < 0)
            {
                run = at;
            }
            at = next;
        }
        if (run >= 0)
        {
            await RandomAccess.WriteAsync(target, data[run..], offset + run, cancellationToken);
        }
    }

    private static bool AllZeros(ReadOnlyMemory<byte> data) => !data.Span.ContainsAnyExcept((byte)0);
}

/// <summary>
/// Another program has the file open for writing (or mapped for writing), or holds a lease on it,
/// as the agent was about to read it or make it a stub; it was left as it is, to be tried again
/// when it is no longer in use. <see cref="Reason"/> says which, for the job's report.
/// </summary>
public sealed class FileInUseException(string path, string reason = FileInUseException.Writing) : IOException($"{path}: {reason}")
{
    public const string Writing =
        "another program has the file open for writing (or mapped for writing): releasing its data could lose what it writes; it is kept and tried again at a later plan";

    public const string Leased =
        "another program holds a lease on the file (as a file server does for its clients' open files), which opening it would break; it is kept and tried again at a later plan";

    public string Reason { get; } = reason;
}

/// <summary>
/// The file changed after it was read for tiering, or was made a stub meanwhile (through another
/// of its names); it was left as it is and must wait for the next scan.
/// </summary>
public sealed class FileChangedException(string path, bool madeAStubMeanwhile = false) : IOException(madeAStubMeanwhile
    ? $"{path} was made a stub through another of its names since it was read; that stub was left as it is"
    : $"{path} changed since it was read; it was left as it is")
{
    public bool MadeAStubMeanwhile { get; } = madeAStubMeanwhile;
}
