using System.Threading.Channels;
using Alto.Agent.Stubs;
using Alto.Scanning;
using Alto.Tiering;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Jobs;

/// <summary>
/// Runs a tiering job on the host, file by file: re-check the file against its plan, read it
/// once while hashing and uploading (or, to a mounted file system, have the kernel copy it and
/// read the copy), verify the object against the file's bytes (<see cref="ReadBackCheck"/>), and
/// only then make it a stub. Every step is journaled first. Verified uploads are made stubs in batches, by one
/// stage beside the uploads: the batch's objects are flushed together, its verified uploads
/// journaled with one flush, and its files' markers flushed together, before any of their data
/// is released (three flushes a batch where there were three a file). Errors as the design says: tier 2 unreachable —
/// exponential backoff, three attempts, then the file is reported unavailable (the job stays
/// queued); changed or in use — skipped until the next scan; other bytes read back than were
/// sent — failed, the original kept. A job sent again is harmless: a file that is already the
/// stub of its object is reported stubbed.
/// </summary>
/// <remarks>
/// <paramref name="refusal"/> says why a file may not become a stub here (recall on open is not
/// armed for it), or null when it may; such a file is refused before it is even read.
/// </remarks>
public sealed partial class JobExecutor(
    OperationJournal journal, IStubDriver stubs, ILogger logger, TimeSpan? retryBase = null, Func<TierTarget, ITierStore>? openStore = null,
    BandwidthThrottle? throttle = null, Func<string, string?>? refusal = null)
{
    public const int Attempts = 3;
    private readonly TimeSpan _retryBase = retryBase ?? TimeSpan.FromSeconds(1);
    private readonly Func<TierTarget, ITierStore> _openStore = openStore ?? (target => target.Open());

    /// <summary>Files tiered side by side: hashing (SHA-256 on the way up, a check on read-back) is CPU work that one core alone makes the bottleneck.</summary>
    public static int Parallelism { get; } = Math.Clamp(Environment.ProcessorCount, 2, 4);

    /// <summary>
    /// Runs the job; once <paramref name="stop"/> is cancelled (an admin cancelled the job) the files
    /// on their way finish and the others are reported <see cref="FileOutcomeKind.Cancelled"/>
    /// untouched, or stubbed when they already are this target's stubs. <paramref name="cancellationToken"/>
    /// is the agent stopping: then the job reports nothing and is sent again.
    /// </summary>
    public async Task<IReadOnlyList<FileOutcome>> ExecuteAsync(
        TieringJob job, Action<FileOutcome>? progress, CancellationToken cancellationToken, CancellationToken stop = default)
    {
        ITierStore store;
        try
        {
            store = _openStore(job.Target);
        }
        catch (Exception exception) when (exception is not (OperationCanceledException or OutOfMemoryException))
        {
            // A target the agent cannot even open fails every file with the reason, rather than the job silently.
            var reason = $"the storage target could not be opened: {FailureReasons.OneLine(exception)}; the originals are kept";
            LogJobFailed(logger, job.JobId, reason);
            return [.. job.Files.Select(file => Failed(file, reason))];
        }
        var outcomes = new FileOutcome[job.Files.Count];
        var reported = new Lock();
        void Report(int index, FileOutcome outcome)
        {
            if (outcome.Kind is FileOutcomeKind.Failed or FileOutcomeKind.Unavailable or FileOutcomeKind.Refused)
            {
                LogFileFailed(logger, RawPaths.Display(job.Files[index].Path), outcome.Kind, outcome.Reason ?? "");
            }
            else
            {
                LogOutcome(logger, RawPaths.Display(job.Files[index].Path), outcome.Kind, outcome.Reason ?? "");
            }
            outcomes[index] = outcome;
            lock (reported)
            {
                progress?.Invoke(outcome);
            }
        }

        // Once a file found tier 2 unreachable after every attempt, the files not started yet are not
        // tried: each would wait out the same attempts (a minute each on a silent endpoint) for the
        // same answer, and the job is queued again whole anyway.
        var unreachable = 0;
        var tierTwoFolder = TierTwoFolder(job.Target);
        var sameFiles = new SameFileGate();
        var verified = Channel.CreateBounded<VerifiedUpload>(new BoundedChannelOptions(MaxStubBatch) { SingleReader = true });
        var stubbing = Task.Run(async () =>
        {
            try
            {
                await StubVerifiedAsync(job, store, verified.Reader, Report, cancellationToken);
            }
            catch (Exception exception)
            {
                // The uploads waiting to hand over stop too, instead of waiting for a stage that is gone.
                verified.Writer.TryComplete(exception);
                throw;
            }
        }, CancellationToken.None);
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, job.Files.Count),
                new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
                async (index, token) =>
                {
                    if (Volatile.Read(ref unreachable) != 0)
                    {
                        Report(index, new FileOutcome(job.Files[index].TierObjectId, FileOutcomeKind.Unavailable,
                            Reason: "not tried: tier 2 could not be reached for another file of this job"));
                        return;
                    }
                    var (outcome, upload) = await TierFileAsync(job, store, tierTwoFolder, sameFiles, index, stop, token);
                    if (outcome?.Kind == FileOutcomeKind.Unavailable)
                    {
                        Interlocked.Exchange(ref unreachable, 1);
                    }
                    if (upload is not null)
                    {
                        try
                        {
                            await verified.Writer.WriteAsync(upload, token);
                        }
                        catch
                        {
                            upload.Close();
                            throw;
                        }
                    }
                    else
                    {
                        Report(index, outcome!);
                    }
                });
        }
        finally
        {
            verified.Writer.TryComplete();
            try
            {
                await stubbing;
            }
            finally
            {
                // Uploads handed over after the stubbing stage stopped (cancelled, or failed): closed untouched.
                while (verified.Reader.TryRead(out var left))
                {
                    left.Close();
                }
            }
        }
        // The stubbing stage stops quietly when cancelled, possibly after the last upload: a job
        // cut short reports nothing rather than a list with files missing.
        cancellationToken.ThrowIfCancellationRequested();
        journal.Compact();
        return outcomes;
    }

    /// <summary>Verified uploads made stubs together at most: bounds the files held open between upload and stub.</summary>
    private const int MaxStubBatch = 64;

    /// <summary>
    /// A file uploaded and verified, not yet journaled as such: its object may not be flushed yet,
    /// and the file is still open for reading as it was when it was read.
    /// </summary>
    private sealed record VerifiedUpload(int Index, JobFile File, SafeFileHandle Handle, StoredObject Stored, StubInfo Stub, FileTimes ReadAt, IDisposable SameFile)
    {
        /// <summary>Closes the file, and lets another of its names (<see cref="SameFileGate"/>) go on.</summary>
        public void Close()
        {
            Handle.Dispose();
            SameFile.Dispose();
        }
    }

    /// <summary>
    /// Takes the verified uploads as they come, as many at a time as have arrived, and makes each
    /// batch stubs (<see cref="StubBatchAsync"/>). Uploads still waiting when the job is cancelled are
    /// closed untouched (by <see cref="ExecuteAsync"/>): their journal says only "begin", and
    /// recovery leaves such files as they are.
    /// </summary>
    private async Task StubVerifiedAsync(
        TieringJob job, ITierStore store, ChannelReader<VerifiedUpload> verified, Action<int, FileOutcome> report, CancellationToken cancellationToken)
    {
        var batch = new List<VerifiedUpload>(MaxStubBatch);
        try
        {
            while (await verified.WaitToReadAsync(cancellationToken))
            {
                while (batch.Count < MaxStubBatch && verified.TryRead(out var upload))
                {
                    batch.Add(upload);
                }
                foreach (var (upload, outcome) in await StubBatchAsync(job, store, batch, cancellationToken))
                {
                    report(upload.Index, outcome);
                }
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Cancelled: the uploads are reported by no one; the job is sent again.
        }
        finally
        {
            foreach (var upload in batch)
            {
                upload.Close();
            }
        }
    }

    /// <summary>
    /// Makes a batch of verified uploads stubs: their objects flushed (where the store flushes
    /// later), their verified uploads journaled with one flush, then the files made stubs with
    /// their markers flushed together. A file is released only after all three for it.
    /// </summary>
    private async Task<List<(VerifiedUpload Upload, FileOutcome Outcome)>> StubBatchAsync(
        TieringJob job, ITierStore store, List<VerifiedUpload> batch, CancellationToken cancellationToken)
    {
        var results = new List<(VerifiedUpload, FileOutcome)>(batch.Count);
        try
        {
            try
            {
                if (store is IFlushedLaterStore flushedLater)
                {
                    await flushedLater.FlushAsync([.. batch.Select(upload => upload.Stored)], cancellationToken);
                }
                journal.Append([.. batch.Select(upload => new JournalEntry(
                    JournalEntry.Tier, upload.File.TierObjectId, upload.File.Path, JournalEntry.Uploaded, job.TargetId, upload.Stub.Locator, upload.Stub.Sha256))]);
            }
            catch (Exception exception) when (exception is not (OperationCanceledException or OutOfMemoryException))
            {
                // Nothing was released: every file of the batch keeps its original bytes. A store that did not
                // answer leaves them unavailable (the job is queued again), any other failure failed.
                foreach (var upload in batch)
                {
                    Finish(upload.File);
                    results.Add((upload, exception is TierStoreUnavailableException unavailable ? Unavailable(upload.File, unavailable)
                        : Failed(upload.File, $"writing to tier 2 failed: {FailureReasons.OneLine(exception)}; the original is kept")));
                }
                return results;
            }
            var made = stubs.MakeStubs([.. batch.Select(upload => new StubRequest(upload.File.Path, upload.Stub, upload.ReadAt))]);
            for (var i = 0; i < batch.Count; i++)
            {
                var (file, stub) = (batch[i].File, batch[i].Stub);
                switch (made[i])
                {
                    case null:
                        Finish(file);
                        results.Add((batch[i], new FileOutcome(file.TierObjectId, FileOutcomeKind.Stubbed, stub.Locator, stub.Sha256)));
                        break;
                    case FileChangedException changed:
                        Finish(file);
                        results.Add((batch[i], Skipped(file, changed.MadeAStubMeanwhile
                            ? "the file was made a stub through another of its names (a hard link) while it was uploaded; that stub is kept"
                            : "the file changed while it was uploaded")));
                        break;
                    case FileInUseException inUse:
                        Finish(file);
                        results.Add((batch[i], Skipped(file, inUse.Reason)));
                        break;
                    case var failure:
                        // After the verified upload the file may already be a stub: the stub driver settles it as
                        // recovery after a crash would, and the outcome reports what the file is, not what was hoped.
                        batch[i].Handle.Dispose();
                        var reason = $"making the stub failed: {FailureReasons.OneLine(failure)}; the original is kept";
                        results.Add((batch[i], SettleAfterFailure(file, job.TargetId) is { } settled
                            ? new FileOutcome(file.TierObjectId, FileOutcomeKind.Stubbed, settled.Locator, settled.Sha256)
                            : Failed(file, reason)));
                        break;
                }
            }
            return results;
        }
        finally
        {
            foreach (var upload in batch)
            {
                upload.Close();
            }
        }
    }

    /// <summary>Uploads and verifies one file: either its outcome (it is left as it is), or its verified upload, still open, for the stubbing stage.</summary>
    private async Task<(FileOutcome? Outcome, VerifiedUpload? Upload)> TierFileAsync(
        TieringJob job, ITierStore store, string? tierTwoFolder, SameFileGate sameFiles, int index, CancellationToken stop, CancellationToken cancellationToken)
    {
        var file = job.Files[index];
        if ((refusal?.Invoke(file.Path) ?? InTierTwo(tierTwoFolder, file.Path)) is { } refused)
        {
            return (new FileOutcome(file.TierObjectId, FileOutcomeKind.Refused, Reason: refused + "; the file is kept as it is"), null);
        }
        SafeFileHandle handle;
        try
        {
            if (OpenToRead(file.Path, out var refusedAtOpen) is not { } opened)
            {
                return (new FileOutcome(file.TierObjectId, FileOutcomeKind.Refused, Reason: $"{refusedAtOpen}; the file is kept as it is"), null);
            }
            handle = opened;
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return (Skipped(file, "the file is gone"), null);
        }
        catch (FileInUseException inUse)
        {
            return (Skipped(file, inUse.Reason), null);
        }
        catch (UnauthorizedAccessException exception)
        {
            return (Failed(file, $"the agent may not read the file: {FailureReasons.OneLine(exception)}"), null);
        }
        catch (IOException exception)
        {
            return (Skipped(file, $"the file is in use: {FailureReasons.OneLine(exception)}"), null);
        }

        var stage = "reading the file";
        IDisposable? sameFile = null;
        try
        {
            // Another name of this file (a hard link) in flight goes first: this one then finds its stub.
            sameFile = await sameFiles.EnterAsync(stubs.Snapshot(handle).Identity, cancellationToken);
            var (outcome, verified) = await UploadOpenFileAsync(job, store, file, handle, next => stage = next, stop, cancellationToken);
            if (verified is not null)
            {
                // The stubbing stage owns the handle, and the file's other names wait for it, now.
                return (null, new VerifiedUpload(index, file, handle, verified.Value.Stored, verified.Value.Stub, verified.Value.ReadAt, sameFile));
            }
            handle.Dispose();
            sameFile.Dispose();
            return (outcome, null);
        }
        catch (Exception exception) when (exception is not (OperationCanceledException or OutOfMemoryException))
        {
            // Whatever went wrong, the file gets an outcome that says so: a job never ends silently.
            handle.Dispose();
            sameFile?.Dispose();
            Finish(file);
            return (Failed(file, $"{stage} failed: {FailureReasons.OneLine(exception)}; the original is kept"), null);
        }
        catch
        {
            handle.Dispose();
            sameFile?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The folder of a path target, its links resolved once for the whole job; null for other
    /// targets (or one whose folder does not exist here: nothing below it can be planned then).
    /// </summary>
    private static string? TierTwoFolder(TierTarget target) =>
        target.Kind != "path" || target.Path is not { } folder ? null
        : OperatingSystem.IsLinux() ? LinuxFiles.RealPath(folder)
        : Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));

    /// <summary>
    /// Why a file inside the target's own folder is not tiered: a path target put inside a tiered
    /// volume has its objects scanned as files, and an object made a stub would be read by the
    /// agent as holes when the file it belongs to is recalled (from a compressed target, every time).
    /// </summary>
    private static string? InTierTwo(string? folder, string path)
    {
        if (folder is null)
        {
            return null;
        }
        var inside = OperatingSystem.IsLinux()
            ? LinuxFiles.RealPath(path) is { } real && (real == folder || real.StartsWith(folder + "/", StringComparison.Ordinal))
            : Path.GetFullPath(path).StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.OrdinalIgnoreCase);
        return inside ? $"the file is inside the target's own tier-2 folder ({folder}): it is one of tier 2's objects, never tiered itself" : null;
    }

    /// <summary>
    /// Opens a planned file to read it, judging again where its path led: between the volume check
    /// and the open a local user may have swapped a folder for a link out of the volumes (the
    /// agent, privileged, would read, upload and release a file it was never given). On Linux only
    /// a regular file is opened, and only once judged (<see cref="RegularFileOpen"/>): a pipe put
    /// there would never let the open return, and a link to a device would open the device. On
    /// Windows the file the open reached is judged (<see cref="FileHandles.ReachedPath"/>).
    /// </summary>
    private SafeFileHandle? OpenToRead(string path, out string? refused)
    {
        if (OperatingSystem.IsLinux())
        {
            return RegularFileOpen.Open(path, FileAccess.Read, refusal, out refused, waitOnLeases: false);
        }
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        refused = refusal is not null && FileHandles.ReachedPath(handle) is var reached && reached != path
                  && (reached is null ? "the system could not say which file the open reached" : refusal(reached)) is { } escaped
            ? $"opening {path} reached {reached ?? "an unknown file"}: {escaped}"
            : null;
        if (refused is not null)
        {
            handle.Dispose();
            return null;
        }
        return handle;
    }

    /// <summary>An object as the store took it, and the read-back check of the bytes it was given.</summary>
    private sealed record SentObject(StoredObject Stored, string Check);

    /// <summary>A verified upload's object, the stub that will name it, and the file's status before it was read.</summary>
    private readonly record struct Verified(StoredObject Stored, StubInfo Stub, FileTimes ReadAt);

    /// <summary>
    /// Checks the open file, uploads it (not yet flushed, where the store allows) and verifies the
    /// object by reading it back: either an outcome (nothing was changed) or the verified upload.
    /// </summary>
    private async Task<(FileOutcome? Outcome, Verified? Upload)> UploadOpenFileAsync(
        TieringJob job, ITierStore store, JobFile file, SafeFileHandle handle, Action<string> stage, CancellationToken stop, CancellationToken cancellationToken)
    {
        if (stubs.Read(handle, file.Path) is { } existing)
        {
            return (existing.TargetId == job.TargetId
                ? new FileOutcome(file.TierObjectId, FileOutcomeKind.Stubbed, existing.Locator, existing.Sha256)
                : Skipped(file, "the file is already a stub of another target"), null);
        }
        if (stop.IsCancellationRequested)
        {
            // Looked at only to report a stub made of it before (by an earlier run of this job) as what it is.
            return (new FileOutcome(file.TierObjectId, FileOutcomeKind.Cancelled, Reason: "not started: the job was cancelled; the file is kept as it is"), null);
        }
        if (stubs.CannotStub(handle) is { } forbidden)
        {
            // Found before any byte is read: such a file would be uploaded on every plan only to fail at its stubbing.
            return (new FileOutcome(file.TierObjectId, FileOutcomeKind.Refused,
                Reason: $"{forbidden}: its data cannot be released, so it is not uploaded; the file is kept as it is"), null);
        }
        if (stubs.OthersMayWrite(handle))
        {
            // Checked again before its data goes; found now, the file is not uploaded for nothing on every plan.
            return (Skipped(file, FileInUseException.Writing), null);
        }
        var readAt = stubs.Snapshot(handle);
        // Compared as the scan read it: a time before year 1 or after 9999 is planned at the bound, and
        // would otherwise read as "changed" on every job.
        if (readAt.Size != file.PlannedSize || ScanValues.AsScanned(readAt.ModifySeconds) != file.PlannedModifiedUnix)
        {
            return (Skipped(file, "the file changed since it was planned"), null);
        }

        // Nothing on the file changes before the verified upload is recorded, so "begin" needs no flush of its own.
        journal.Append(new JournalEntry(JournalEntry.Tier, file.TierObjectId, file.Path, JournalEntry.Begin, job.TargetId), durable: false);
        string? spool = null;
        try
        {
            // Compressed objects are made first (the file is still read once, hashing as it goes), then uploaded.
            if (job.Target.Compresses)
            {
                stage("compressing the file");
            }
            (string Sha256, long Length)? original = job.Target.Compresses ? await CompressAsync(handle, spool = SpoolPath(file), cancellationToken) : null;
            if (store is IFileCopyStore copier && spool is null && file.Key is null && throttle is null)
            {
                stage("copying to tier 2");
                if (await copier.PutCopyUnflushedAsync(job.TenantId, handle, cancellationToken) is { } copied)
                {
                    return CompareCopy(job, file, copied, readAt, await ReadBackCheck.OfFileAsync(handle, cancellationToken));
                }
            }
            stage("writing to tier 2");
            // Where the store flushes later, the stubbing stage flushes the object with the others of its batch.
            Func<Stream, Task<StoredObject>> put = store is IFlushedLaterStore flushedLater
                ? content => flushedLater.PutUnflushedAsync(job.TenantId, content, cancellationToken)
                : content => store.PutAsync(job.TenantId, content, cancellationToken);
            var sent = await WithRetriesAsync(async () =>
            {
                // Unbuffered (the copy reads in large pieces of its own): a stream buffer would be a fresh megabyte a file.
                await using var content = spool is null ? new FileStream(FileHandles.Borrow(handle), FileAccess.Read, bufferSize: 0) { Position = 0 } : File.OpenRead(spool);
                if (file.Key is not { } key)
                {
                    var check = new ReadBackCheck(Throttled(content));
                    return new SentObject(await put(check), check.Value);
                }
                // Encrypted on the way out; unless compression already did, the file's own bytes are hashed as they go in.
                await using var plain = new HashingReadStream(content);
                await using var encrypted = ObjectEncryption.Encrypt(plain, key.Key, key.Wrapped);
                var sealedCheck = new ReadBackCheck(Throttled(encrypted));
                var putObject = await put(sealedCheck);
                original ??= (plain.Sha256, plain.BytesRead);
                return new SentObject(putObject, sealedCheck.Value);
            }, cancellationToken);
            stage("reading back from tier 2");
            var readBack = await WithRetriesAsync(() => ReadBackCheck.OfObjectAsync(store, sent.Stored.Key, cancellationToken), cancellationToken);
            var stored = sent.Stored;
            if (readBack != sent.Check)
            {
                Finish(file);
                return (new FileOutcome(file.TierObjectId, FileOutcomeKind.Failed, stored.Key, stored.Sha256,
                    $"hash mismatch: tier 2 returned other bytes for {stored.Key} than were sent (XXH128 {readBack}, sent {sent.Check}); the original is kept"), null);
            }

            var stub = original is { } plainFile
                ? new StubInfo(job.TargetId, stored.Key, plainFile.Sha256, plainFile.Length) { Codec = StubInfo.CodecFor(job.Target.Compresses, file.Key is not null) }
                : new StubInfo(job.TargetId, stored.Key, stored.Sha256, stored.Length);
            return (null, new Verified(stored, stub, readAt));
        }
        catch (TierStoreUnavailableException exception)
        {
            // Unreachable, or still not answering, after the attempts it was given: nothing was released.
            Finish(file);
            return (Unavailable(file, exception), null);
        }
        finally
        {
            if (spool is not null)
            {
                File.Delete(spool);
            }
        }
    }

    /// <summary>
    /// A copy the store made inside the kernel and read back, against the file read once more:
    /// the same check, or the file is kept (it changed while it was copied, or tier 2 holds other bytes).
    /// </summary>
    private (FileOutcome? Outcome, Verified? Upload) CompareCopy(TieringJob job, JobFile file, CopiedObject copied, FileTimes readAt, string own)
    {
        var stored = copied.Stored;
        if (own != copied.Check)
        {
            Finish(file);
            return (new FileOutcome(file.TierObjectId, FileOutcomeKind.Failed, stored.Key, stored.Sha256,
                $"hash mismatch: tier 2's copy {stored.Key} holds other bytes than the file (XXH128 {copied.Check}, the file {own}); the original is kept"), null);
        }
        return (null, new Verified(stored, new StubInfo(job.TargetId, stored.Key, stored.Sha256, stored.Length), readAt));
    }

    /// <summary>
    /// A failure after the verified upload was journaled: the stub driver finishes or rolls back
    /// what was done, exactly as recovery after a crash would. Returns the stub when the file is one.
    /// </summary>
    private StubInfo? SettleAfterFailure(JobFile file, Guid targetId)
    {
        var entry = journal.Unfinished().LastOrDefault(e => e.Operation == JournalEntry.Tier && e.TierObjectId == file.TierObjectId)
                    ?? new JournalEntry(JournalEntry.Tier, file.TierObjectId, file.Path, JournalEntry.Uploaded, targetId);
        var settled = JournalRecovery.Settle(entry, stubs);
        if (settled.Unsettled is { } why)
        {
            // Left in the journal: the next recovery settles it; until then it is not reported as a stub,
            // and the agent's heartbeats name it.
            journal.MarkWaiting(entry, why);
            LogSettleFailed(logger, RawPaths.Display(file.Path), why);
            return null;
        }
        Finish(file);
        return settled.Stub;
    }

    private Stream Throttled(Stream content) => throttle is null ? content : new ThrottledReadStream(content, throttle);

    private string SpoolPath(JobFile file)
    {
        var folder = Path.Combine(journal.StateDirectory, "spool");
        Tiering.PrivateFiles.CreateDirectory(folder);
        return Path.Combine(folder, $"{file.TierObjectId}-{Guid.NewGuid():N}.zst");
    }

    /// <summary>Writes the file zstd-compressed to <paramref name="spool"/>; returns the SHA-256 and length of the original bytes.</summary>
    private static async Task<(string Sha256, long Length)> CompressAsync(SafeFileHandle handle, string spool, CancellationToken cancellationToken)
    {
        await using var source = new FileStream(FileHandles.Borrow(handle), FileAccess.Read, bufferSize: 0) { Position = 0 };
        await using var hashing = new HashingReadStream(source);
        await using (var output = Tiering.PrivateFiles.Open(spool, FileMode.CreateNew, bufferSize: 0, FileOptions.Asynchronous))
        await using (var zstd = new ZstdSharp.CompressionStream(output, level: 3, leaveOpen: true))
        {
            await hashing.CopyToAsync(zstd, 1 << 20, cancellationToken);
        }
        return (hashing.Sha256, hashing.BytesRead);
    }

    private void Finish(JobFile file) =>
        journal.Append(new JournalEntry(JournalEntry.Tier, file.TierObjectId, file.Path, JournalEntry.Done), durable: false);

    private static FileOutcome Skipped(JobFile file, string reason) => new(file.TierObjectId, FileOutcomeKind.Skipped, Reason: reason);

    private static FileOutcome Failed(JobFile file, string reason) => new(file.TierObjectId, FileOutcomeKind.Failed, Reason: reason);

    private static FileOutcome Unavailable(JobFile file, TierStoreUnavailableException exception) =>
        new(file.TierObjectId, FileOutcomeKind.Unavailable, Reason: $"tier 2 could not be reached: {FailureReasons.OneLine(exception)}; the original is kept");

    /// <summary>Tries up to <see cref="Attempts"/> times while tier 2 is unreachable, backing off exponentially; the last attempt's failure when it stays so.</summary>
    /// <exception cref="TierStoreUnavailableException">Tier 2 could not be reached at any attempt.</exception>
    private async Task<T> WithRetriesAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (TierStoreUnavailableException exception) when (attempt < Attempts)
            {
                var pause = _retryBase * Math.Pow(2, attempt - 1);
                LogUnavailable(logger, attempt, Attempts, pause.TotalSeconds, FailureReasons.OneLine(exception));
                await Task.Delay(pause, cancellationToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Path}: {Outcome} {Reason}")]
    private static partial void LogOutcome(ILogger logger, string path, FileOutcomeKind outcome, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path}: {Outcome}: {Reason}")]
    private static partial void LogFileFailed(ILogger logger, string path, FileOutcomeKind outcome, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed: {Reason}")]
    private static partial void LogJobFailed(ILogger logger, Guid jobId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Path}: a failed tiering could not be settled now ({Why}); recovery settles it later")]
    private static partial void LogSettleFailed(ILogger logger, string path, string why);

    // The reason alone: a stack trace at every attempt for every file says nothing more about a share or bucket that is away.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Tier 2 unreachable (attempt {Attempt} of {Attempts}, the next in {Seconds} s): {Reason}")]
    private static partial void LogUnavailable(ILogger logger, int attempt, int attempts, double seconds, string reason);
}
