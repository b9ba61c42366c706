using Alto.Scanning;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.LucidLink;

/// <summary>How the audit trail is being followed, as heartbeats report it.</summary>
public sealed record LucidTrailStatus(
    long EventsApplied, long LinesMalformed, long LinesDuplicate, int LinesQuarantined, long QuarantineOverflow,
    DateTimeOffset? NewestAppliedEvent, string? Problem);

/// <summary>
/// Sends a LucidLink filespace's audit trail to the cluster: every poll interval (and soon after
/// the trail changes, where a file-system watcher works), the new events in batches of at most
/// 10,000, mapped to inventory paths (the filespace root joined with each entry path), to
/// POST /api/v1/audit-updates. A batch's offsets are kept only once the gateway took it; a
/// gateway out of reach, busy or failing means the same events go again later. A batch the
/// gateway refuses as such goes to the quarantine with its reason (so one bad line cannot stop
/// the trail, and none is lost); it is sent again by a newer agent.
/// </summary>
public sealed partial class LucidTrailUploader(
    Guid tenantId, Guid hostId, string stateDirectory, Func<TrailUpdateBatch, CancellationToken, Task<string?>> send, ILogger logger,
    PathFlavor? flavor = null)
{
    /// <summary>How this host spells inventory paths: a Windows client's filespace is a drive (<c>L:\</c>) or a folder (<c>C:\LucidVolume</c>).</summary>
    private readonly PathFlavor _flavor = flavor ?? (OperatingSystem.IsWindows() ? PathFlavor.Windows : PathFlavor.Posix);

    public const int BatchSize = 10_000;
    private LucidTrailTailer? _tailer;
    private long _applied;
    private long _newestApplied;
    private string? _problem;

    /// <summary>Why the trail cannot be followed at all (its own state files are damaged); stays until they are put right.</summary>
    private string? _stateProblem;

    /// <summary>The trail's figures so far; null while no LucidLink filespace is followed.</summary>
    public LucidTrailStatus? Status => _tailer is { } tailer
        ? new LucidTrailStatus(Interlocked.Read(ref _applied), tailer.MalformedTotal, tailer.DuplicatesTotal, tailer.Quarantined, tailer.QuarantineOverflow,
            Interlocked.Read(ref _newestApplied) is > 0 and var newest ? DateTimeOffset.FromUnixTimeMilliseconds(newest / 1000) : null, _stateProblem ?? _problem)
        : null;

    /// <summary>Runs until cancelled; <paramref name="settings"/> is asked each round (the cluster may change or clear it).</summary>
    public async Task RunAsync(Func<(string Root, int PollSeconds)?> settings, CancellationToken cancellationToken)
    {
        LucidTrailTailer? tailer = null;
        string? tailedRoot = null;
        using var changed = new SemaphoreSlim(0);
        FileSystemWatcher? watcher = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var current = settings();
                var wait = TimeSpan.FromSeconds(current?.PollSeconds ?? 5);
                if (current is { } lucid)
                {
                    if (lucid.Root != tailedRoot)
                    {
                        tailedRoot = lucid.Root;
                        tailer = new LucidTrailTailer(lucid.Root, Path.Combine(stateDirectory, $"lucid-offsets-{System.IO.Hashing.XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(lucid.Root)):x16}.json"));
                        _tailer = tailer;
                        watcher?.Dispose();
                        watcher = Watch(tailer.AuditRoot, changed);
                    }
                    await FollowAsync(tailer!, lucid.Root, cancellationToken);
                }
                try
                {
                    await changed.WaitAsync(wait, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
        finally
        {
            watcher?.Dispose();
        }
    }

    /// <summary>
    /// One round of <see cref="SendNewAsync"/>. Damaged state files of the trail stop it (said in
    /// the log once and in every heartbeat) without ending the agent; it goes on by itself once
    /// they are put right.
    /// </summary>
    private async Task FollowAsync(LucidTrailTailer tailer, string root, CancellationToken cancellationToken)
    {
        try
        {
            await SendNewAsync(tailer, root, cancellationToken);
            _stateProblem = null;
        }
        catch (InvalidDataException exception)
        {
            if (_stateProblem != exception.Message)
            {
                LogStateDamaged(logger, exception.Message);
            }
            _stateProblem = exception.Message;
        }
    }

    /// <summary>Sends everything new, batch by batch; returns how many events went out.</summary>
    public async Task<int> SendNewAsync(LucidTrailTailer tailer, string root, CancellationToken cancellationToken)
    {
        _tailer ??= tailer;
        var sent = 0;
        while (true)
        {
            var read = tailer.ReadNew(BatchSize);
            if (read.Malformed > 0)
            {
                LogMalformed(logger, read.Malformed, tailer.AuditRoot, tailer.Quarantined);
            }
            if (read.Replayed > 0)
            {
                LogReplayed(logger, read.Replayed);
            }
            var applied = 0L;
            var newest = 0L;
            if (read.Events.Count > 0)
            {
                string? refusal;
                try
                {
                    refusal = await send(Batch(root, read.Events), cancellationToken);
                }
                catch (HttpRequestException exception)
                {
                    _problem = $"the gateway could not take audit-trail updates: {exception.Message}";
                    LogUnreachable(logger, exception.Message);
                    return sent;
                }
                if (refusal is null)
                {
                    applied = read.Events.Count;
                    newest = read.Events.Max(e => e.TimestampMicros);
                    _problem = null;
                }
                else
                {
                    // Kept with the gateway's reason rather than passed over: a newer agent sends them again.
                    tailer.QuarantineRefused(read.Events, $"the gateway refused the batch: {refusal}");
                    _problem = $"the gateway refused a batch of {read.Events.Count} audit-trail updates (quarantined): {refusal}";
                    LogRefused(logger, read.Events.Count, refusal);
                }
                sent += read.Events.Count;
            }
            else if (read.Ignored == 0 && read.Malformed == 0 && read.Duplicates == 0 && read.Replayed == 0)
            {
                return sent;
            }
            tailer.Commit();
            // Counted once the read is committed, so a status taken meanwhile never shows these
            // events applied without the read's malformed and duplicate lines.
            Interlocked.Add(ref _applied, applied);
            if (newest > Interlocked.Read(ref _newestApplied))
            {
                Interlocked.Exchange(ref _newestApplied, newest);
            }
        }
    }

    private TrailUpdateBatch Batch(string root, IReadOnlyList<LucidTrailEvent> events) => new(
        BatchId(root, events), tenantId, hostId, TrailUpdateBatch.LucidLinkSource, DateTimeOffset.UtcNow,
        [.. events.Select(e => new TrailUpdate(
            InventoryPath(_flavor, root, e.EntryPath),
            e.Action switch
            {
                LucidAction.FileRead => "read",
                LucidAction.FileWritten => "write",
                LucidAction.FileDelete => "delete",
                _ => "move",
            },
            DateTimeOffset.FromUnixTimeMilliseconds(e.TimestampMicros / 1000),
            e.TargetPath is null ? null : InventoryPath(_flavor, root, e.TargetPath)))]);

    /// <summary>
    /// The same events make the same batch id: a batch sent again after the gateway failed to
    /// answer is recognised and applied once.
    /// </summary>
    private static Guid BatchId(string root, IReadOnlyList<LucidTrailEvent> events)
    {
        var hash = new System.IO.Hashing.XxHash128();
        hash.Append(System.Text.Encoding.UTF8.GetBytes(root));
        Span<byte> number = stackalloc byte[9];
        foreach (var e in events)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(number, e.TimestampMicros);
            number[8] = (byte)e.Action;
            hash.Append(number);
            hash.Append(System.Text.Encoding.UTF8.GetBytes(e.EntryPath + "\0" + e.TargetPath + "\0"));
        }
        return new Guid(hash.GetCurrentHash());
    }

    /// <summary>
    /// The inventory path of an entry: the filespace root joined with the entry path (always
    /// '/'-separated in the trail, its leading '/' already dropped), in the host's flavour —
    /// <c>C:\LucidVolume</c> + <c>Data/docs/report.pdf</c> is <c>C:\LucidVolume\Data\docs\report.pdf</c>.
    /// </summary>
    public static string InventoryPath(PathFlavor flavor, string root, string entryPath) => flavor == PathFlavor.Windows
        ? root.TrimEnd('\\', '/') + "\\" + entryPath.Replace('/', '\\')
        : root.TrimEnd('/') + "/" + entryPath;

    /// <summary>Wakes the loop soon after the trail changes (a burst of writes wakes it once); null where watching does not work.</summary>
    private FileSystemWatcher? Watch(string auditRoot, SemaphoreSlim changed)
    {
        try
        {
            var watcher = new FileSystemWatcher(auditRoot) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.LastWrite };
            FileSystemEventHandler wake = (_, _) =>
            {
                if (changed.CurrentCount == 0)
                {
                    changed.Release();
                }
            };
            watcher.Changed += wake;
            watcher.Created += wake;
            watcher.Renamed += (sender, renamed) => wake(sender, renamed);
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception exception) when (exception is ArgumentException or IOException or PlatformNotSupportedException)
        {
            LogNoWatcher(logger, auditRoot, exception.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} line(s) of the audit trail under {Root} could not be read: quarantined with their reasons ({Quarantined} waiting)")]
    private static partial void LogMalformed(ILogger logger, long count, string root, int quarantined);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} quarantined audit-trail line(s) can be read now and are sent")]
    private static partial void LogReplayed(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The gateway could not be reached with audit-trail updates; they go again later: {Reason}")]
    private static partial void LogUnreachable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The gateway refused a batch of {Count} audit-trail updates; they are quarantined: {Reason}")]
    private static partial void LogRefused(ILogger logger, int count, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The LucidLink audit trail is not followed: {Reason}")]
    private static partial void LogStateDamaged(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "No file-system watcher on {Root} ({Reason}); the trail is polled only")]
    private static partial void LogNoWatcher(ILogger logger, string root, string reason);
}
