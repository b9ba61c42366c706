using Alto.Agent.Stubs;
using Alto.Tiering;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Jobs;

/// <summary>
/// Runs a tiering job on the host, file by file: re-check the file against its plan, read it
/// once while hashing and uploading, verify by reading the object back, and only then make it a
/// stub. Every step is journaled first. Errors as the design says: tier 2 unreachable —
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

    /// <summary>Files tiered side by side: hashing twice (upload, read-back) is CPU work that one core alone makes the bottleneck.</summary>
    public static int Parallelism { get; } = Math.Clamp(Environment.ProcessorCount, 2, 4);

    public async Task<IReadOnlyList<FileOutcome>> ExecuteAsync(TieringJob job, Action<FileOutcome>? progress, CancellationToken cancellationToken)
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
        await Parallel.ForEachAsync(Enumerable.Range(0, job.Files.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (index, token) =>
            {
                var file = job.Files[index];
                var outcome = await TierFileAsync(job, store, file, token);
                if (outcome.Kind is FileOutcomeKind.Failed or FileOutcomeKind.Unavailable or FileOutcomeKind.Refused)
                {
                    LogFileFailed(logger, file.Path, outcome.Kind, outcome.Reason ?? "");
                }
                else
                {
                    LogOutcome(logger, file.Path, outcome.Kind, outcome.Reason ?? "");
                }
                outcomes[index] = outcome;
                lock (reported)
                {
                    progress?.Invoke(outcome);
                }
            });
        journal.Compact();
        return outcomes;
    }

    private async Task<FileOutcome> TierFileAsync(TieringJob job, ITierStore store, JobFile file, CancellationToken cancellationToken)
    {
        if (refusal?.Invoke(file.Path) is { } refused)
        {
            return new FileOutcome(file.TierObjectId, FileOutcomeKind.Refused, Reason: refused + "; the file is kept as it is");
        }
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return Skipped(file, "the file is gone");
        }
        catch (UnauthorizedAccessException exception)
        {
            return Failed(file, $"the agent may not read the file: {FailureReasons.OneLine(exception)}");
        }
        catch (IOException exception)
        {
            return Skipped(file, $"the file is in use: {FailureReasons.OneLine(exception)}");
        }

        var attempt = new FileAttempt();
        string reason;
        using (handle)
        {
            try
            {
                return await TierOpenFileAsync(job, store, file, handle, attempt, cancellationToken);
            }
            catch (Exception exception) when (exception is not (OperationCanceledException or OutOfMemoryException))
            {
                // Whatever went wrong, the file gets an outcome that says so: a job never ends silently.
                reason = $"{attempt.Stage} failed: {FailureReasons.OneLine(exception)}; the original is kept";
                if (!attempt.Uploaded)
                {
                    Finish(file);
                    return Failed(file, reason);
                }
            }
        }
        // After the verified upload the file may already be a stub: the stub driver settles it as
        // recovery after a crash would, and the outcome reports what the file is, not what was hoped.
        return SettleAfterFailure(file, job.TargetId) is { } stub
            ? new FileOutcome(file.TierObjectId, FileOutcomeKind.Stubbed, stub.Locator, stub.Sha256)
            : Failed(file, reason);
    }

    /// <summary>How far one file got, so that a failure can say where it happened and what to settle.</summary>
    private sealed class FileAttempt
    {
        public string Stage { get; set; } = "reading the file";

        public bool Uploaded { get; set; }
    }

    private async Task<FileOutcome> TierOpenFileAsync(
        TieringJob job, ITierStore store, JobFile file, SafeFileHandle handle, FileAttempt attempt, CancellationToken cancellationToken)
    {
        if (stubs.Read(handle, file.Path) is { } existing)
        {
            return existing.TargetId == job.TargetId
                ? new FileOutcome(file.TierObjectId, FileOutcomeKind.Stubbed, existing.Locator, existing.Sha256)
                : Skipped(file, "the file is already a stub of another target");
        }
        var readAt = stubs.Snapshot(handle);
        if (readAt.Size != file.PlannedSize || readAt.ModifySeconds != file.PlannedModifiedUnix)
        {
            return Skipped(file, "the file changed since it was planned");
        }

        // Nothing on the file changes before the verified upload is recorded, so "begin" needs no flush of its own.
        journal.Append(new JournalEntry(JournalEntry.Tier, file.TierObjectId, file.Path, JournalEntry.Begin, job.TargetId), durable: false);
        string? spool = null;
        try
        {
            // Compressed objects are made first (the file is still read once, hashing as it goes), then uploaded.
            attempt.Stage = job.Target.Compresses ? "compressing the file" : attempt.Stage;
            (string Sha256, long Length)? original = job.Target.Compresses ? await CompressAsync(handle, spool = SpoolPath(file), cancellationToken) : null;
            attempt.Stage = "writing to tier 2";
            var stored = await WithRetriesAsync(async () =>
            {
                await using var content = spool is null ? new FileStream(FileHandles.Borrow(handle), FileAccess.Read, 1 << 20) { Position = 0 } : File.OpenRead(spool);
                if (file.Key is not { } key)
                {
                    return await store.PutAsync(job.TenantId, Throttled(content), cancellationToken);
                }
                // Encrypted on the way out; unless compression already did, the file's own bytes are hashed as they go in.
                await using var plain = new HashingReadStream(content);
                await using var encrypted = ObjectEncryption.Encrypt(plain, key.Key, key.Wrapped);
                var put = await store.PutAsync(job.TenantId, Throttled(encrypted), cancellationToken);
                original ??= (plain.Sha256, plain.BytesRead);
                return put;
            }, cancellationToken);
            attempt.Stage = "reading back from tier 2";
            var readBack = stored is null ? null : await WithRetriesAsync(() => Sha256Check.OfObjectAsync(store, stored.Key, cancellationToken), cancellationToken);
            if (stored is null || readBack is null)
            {
                Finish(file);
                return new FileOutcome(file.TierObjectId, FileOutcomeKind.Unavailable, Reason: $"tier 2 could not be reached after {Attempts} attempts");
            }
            if (readBack != stored.Sha256)
            {
                Finish(file);
                return new FileOutcome(file.TierObjectId, FileOutcomeKind.Failed, stored.Key, stored.Sha256,
                    $"hash mismatch: tier 2 returned bytes with SHA-256 {readBack} for an upload of {stored.Sha256}; the original is kept");
            }

            var stub = original is { } plainFile
                ? new StubInfo(job.TargetId, stored.Key, plainFile.Sha256, plainFile.Length) { Codec = StubInfo.CodecFor(job.Target.Compresses, file.Key is not null) }
                : new StubInfo(job.TargetId, stored.Key, stored.Sha256, stored.Length);
            journal.Append(new JournalEntry(JournalEntry.Tier, file.TierObjectId, file.Path, JournalEntry.Uploaded, job.TargetId, stub.Locator, stub.Sha256));
            attempt.Uploaded = true;
            attempt.Stage = "making the stub";
            try
            {
                stubs.MakeStub(file.Path, stub, readAt);
            }
            catch (FileChangedException)
            {
                Finish(file);
                return Skipped(file, "the file changed while it was uploaded");
            }
            Finish(file);
            return new FileOutcome(file.TierObjectId, FileOutcomeKind.Stubbed, stub.Locator, stub.Sha256);
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
    /// A failure after the verified upload was journaled: the stub driver finishes or rolls back
    /// what was done, exactly as recovery after a crash would. Returns the stub when the file is one.
    /// </summary>
    private StubInfo? SettleAfterFailure(JobFile file, Guid targetId)
    {
        try
        {
            var entry = journal.Unfinished().LastOrDefault(e => e.Operation == JournalEntry.Tier && e.TierObjectId == file.TierObjectId)
                        ?? new JournalEntry(JournalEntry.Tier, file.TierObjectId, file.Path, JournalEntry.Uploaded, targetId);
            // Settling may release the data again: it needs the file open for writing.
            using var writable = File.OpenHandle(file.Path, FileMode.Open, FileAccess.ReadWrite);
            var isStub = stubs.Settle(writable, entry);
            Finish(file);
            return isStub ? stubs.Read(writable, file.Path) : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            // Left in the journal: the next recovery settles it; until then it is not reported as a stub.
            LogSettleFailed(logger, exception, file.Path);
            return null;
        }
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
        await using var source = new FileStream(FileHandles.Borrow(handle), FileAccess.Read, 1 << 20) { Position = 0 };
        await using var hashing = new HashingReadStream(source);
        await using (var output = Tiering.PrivateFiles.Open(spool, FileMode.CreateNew, 1 << 20, FileOptions.Asynchronous))
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

    /// <summary>Tries up to <see cref="Attempts"/> times while tier 2 is unreachable, backing off exponentially; null when it stays so.</summary>
    private async Task<T?> WithRetriesAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken) where T : class
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (TierStoreUnavailableException exception)
            {
                LogUnavailable(logger, exception, attempt);
                if (attempt == Attempts)
                {
                    return null;
                }
                await Task.Delay(_retryBase * Math.Pow(2, attempt - 1), cancellationToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Path}: {Outcome} {Reason}")]
    private static partial void LogOutcome(ILogger logger, string path, FileOutcomeKind outcome, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path}: {Outcome}: {Reason}")]
    private static partial void LogFileFailed(ILogger logger, string path, FileOutcomeKind outcome, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed: {Reason}")]
    private static partial void LogJobFailed(ILogger logger, Guid jobId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Path}: a failed tiering could not be settled now; recovery settles it later")]
    private static partial void LogSettleFailed(ILogger logger, Exception exception, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tier 2 unreachable (attempt {Attempt})")]
    private static partial void LogUnavailable(ILogger logger, Exception exception, int attempt);
}
