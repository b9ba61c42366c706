using System.Threading.RateLimiting;
using Alto.Agent.Connection;
using Alto.Scanning;
using Alto.Tiering;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Reconcile;

/// <summary>A reconciliation run as the gateway hands it to its listing agent.</summary>
public sealed record ReconcileRunOrder(Guid RunId, Guid TargetId, string Depth, int SamplePercent, int RequestsPerSecond, string Status, string? Cursor);

/// <summary>Orphans to delete, each only if the store shows it unmodified since <see cref="Before"/>; none: the run is over.</summary>
public sealed record ReclaimBatch(DateTimeOffset Before, IReadOnlyList<string> Keys, string Status);

/// <summary>What was done with one orphan: deleted, newer (kept), absent or failed.</summary>
public sealed record ReclaimedObject(string Key, string Outcome, string? Detail);

/// <summary>The run's answer to a reclaim report: how many results it took, how many orphans wait, and its status.</summary>
public sealed record ReclaimReceipt(int Taken, long Pending, string Status);

/// <summary>The run's answer: its cursor, whether the part had been taken before, and its status.</summary>
public sealed record ListingReceipt(string? Cursor, bool Duplicate, string Status);

/// <summary>
/// The agent's part in a reconciliation run: lists the target in key order from the run's cursor
/// (so a run cut off by a crash or a lost session goes on where it stopped), checks each object
/// as deeply as the run asks — the store's recorded SHA-256 (head), or the bytes hashed again for
/// a fixed sample of keys (deep) — at no more than the run's requests per second, and uploads the
/// listing in packed parts. A tier 2 that cannot be read ends the run as failed, with the reason.
/// </summary>
public sealed partial class ReconcileRunner(GatewayClient gateway, TargetDirectory targets, Guid tenantId, ILogger<ReconcileRunner> logger)
{
    /// <summary>Objects per part: as many as the gateway takes (fewer round trips; a part is one transaction there).</summary>
    public const int PartSize = ListingPartFormat.MaxEntries;

    /// <summary>Head requests or deep hashes at a time: a request's latency (or a small object's open and read) is hidden behind the listing.</summary>
    private const int ChecksInParallel = 4;
    private static readonly TimeSpan[] SendRetries = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(30)];

    public async Task RunAsync(Guid runId, CancellationToken cancellationToken)
    {
        var run = await gateway.GetReconcileRunAsync(runId, cancellationToken);
        if (run.Status is "reclaiming" or "listing")
        {
            // The target as it is now: a job may have brought it long ago, and it may have moved or had its credentials rotated since.
            await targets.RefreshAsync(run.TargetId, cancellationToken);
        }
        if (run.Status == "reclaiming")
        {
            await ReclaimAsync(run, cancellationToken);
            return;
        }
        if (run.Status != "listing")
        {
            LogNothingToDo(logger, runId, run.Status);
            return;
        }
        LogListing(logger, runId, run.TargetId, run.Depth, run.Cursor ?? "the start");
        using var pace = Pace(run.RequestsPerSecond);
        using var checks = new SemaphoreSlim(ChecksInParallel);
        var after = run.Cursor;
        // Each object's check, in key order: most are done at once; a sampled one's request or hash runs while the listing goes on.
        var pending = new List<PendingCheck>(PartSize);
        long listed = 0;
        // The next part is listed while the last one travels: one part in flight at a time.
        Task<ListingReceipt>? inFlight = null;
        try
        {
            var store = targets.Store(run.TargetId);
            await PaceAsync(pace, cancellationToken);
            await foreach (var stored in store.ListAsync(tenantId, after, cancellationToken))
            {
                // A listing page (a thousand keys on S3 and Azure) is one request.
                if (++listed % 1000 == 0)
                {
                    // The answer to the part last sent may have come meanwhile: a run that is over is not listed a page further.
                    if (inFlight is { IsCompletedSuccessfully: true } && RunIsOver(runId, await inFlight))
                    {
                        await AbandonChecksAsync(pending);
                        return;
                    }
                    await PaceAsync(pace, cancellationToken);
                }
                pending.Add(Check(store, stored, run, pace, checks, cancellationToken));
                if (pending.Count == PartSize)
                {
                    var part = await CollectAsync(pending);
                    if (inFlight is not null && RunIsOver(runId, await inFlight))
                    {
                        return;
                    }
                    inFlight = SendAsync(runId, new ListingPart(after, part, Finished: false, Failure: null), cancellationToken);
                    after = part.Count > 0 ? part[^1].Key : after;
                }
            }
            var last = await CollectAsync(pending);
            if (inFlight is not null && RunIsOver(runId, await inFlight))
            {
                return;
            }
            await SendAsync(runId, new ListingPart(after, last, Finished: true, Failure: null), cancellationToken);
        }
        catch (Exception exception) when (exception is TierStoreUnavailableException or IOException or UnauthorizedAccessException
                                              && !cancellationToken.IsCancellationRequested)
        {
            // What was listed stays taken; the run ends as failed with the reason, and a new run starts from scratch.
            if (inFlight is not null)
            {
                await inFlight;
            }
            await SendAsync(runId, new ListingPart(after, [], Finished: false, Failure: $"tier 2 could not be listed: {exception.Message}"), cancellationToken);
            throw;
        }
        LogListed(logger, runId, listed);
    }

    /// <summary>Waits for the checks under way (they hold the pace and the semaphore), their results not wanted.</summary>
    private static async Task AbandonChecksAsync(List<PendingCheck> pending)
    {
        foreach (var check in pending.Where(check => check.Looking is not null))
        {
            try
            {
                await check.Looking!;
            }
            catch (Exception exception) when (exception is TierStoreUnavailableException or IOException or UnauthorizedAccessException)
            {
                // Nothing is sent for the run any more: what a check found no longer matters.
            }
        }
        pending.Clear();
    }

    /// <summary>The checks' results in key order (objects that vanished meanwhile left out); the list is emptied for the next part.</summary>
    private static async Task<List<ListingEntry>> CollectAsync(List<PendingCheck> pending)
    {
        var part = new List<ListingEntry>(pending.Count);
        foreach (var check in pending)
        {
            if ((check.Ready ?? await check.Looking!) is { } checkedObject)
            {
                part.Add(checkedObject);
            }
        }
        pending.Clear();
        return part;
    }

    /// <summary>Deletions reported at a time: the run's answer to each report says whether it still reclaims, so a cancelled run stops within this many.</summary>
    public const int ReclaimReportEvery = 100;

    /// <summary>
    /// Deletes the orphans the run gives, batch by batch, each only if the store still shows it
    /// unmodified since the run's cut-off, at no more than the run's requests per second. A delete
    /// that fails is reported (the object is kept) and the run goes on. What was done is reported
    /// every <see cref="ReclaimReportEvery"/> objects, and a run that is over (cancelled, or ended
    /// as failed) is not deleted from any further.
    /// </summary>
    private async Task ReclaimAsync(ReconcileRunOrder run, CancellationToken cancellationToken)
    {
        using var pace = Pace(run.RequestsPerSecond);
        var store = targets.Store(run.TargetId);
        long deleted = 0;
        while (await gateway.GetReclaimAsync(run.RunId, cancellationToken) is { Keys.Count: > 0 } batch)
        {
            var results = new List<ReclaimedObject>(ReclaimReportEvery);
            foreach (var key in batch.Keys)
            {
                if (results.Count == ReclaimReportEvery)
                {
                    var receipt = await gateway.SendReclaimedAsync(run.RunId, results, cancellationToken);
                    results.Clear();
                    if (receipt.Status != "reclaiming")
                    {
                        LogReclaimStopped(logger, run.RunId, receipt.Status, deleted);
                        return;
                    }
                }
                // Only this tenant's content keys are ever deleted, whatever the cluster asks.
                if (ObjectKeys.Sha256Of(key) is null || !key.Contains($"{tenantId:N}/", StringComparison.Ordinal))
                {
                    results.Add(new ReclaimedObject(key, "failed", "not a content key of this tenant: not deleted"));
                    continue;
                }
                await PaceAsync(pace, cancellationToken);
                try
                {
                    var outcome = await store.DeleteUnlessModifiedSinceAsync(key, batch.Before, cancellationToken);
                    deleted += outcome == ReclaimOutcome.Deleted ? 1 : 0;
                    results.Add(new ReclaimedObject(key, outcome.ToString().ToLowerInvariant(), null));
                }
                catch (Exception exception) when (exception is TierStoreUnavailableException or IOException or UnauthorizedAccessException
                                                      && !cancellationToken.IsCancellationRequested)
                {
                    LogReclaimFailed(logger, run.RunId, key, exception.Message);
                    results.Add(new ReclaimedObject(key, "failed", exception.Message));
                }
            }
            await gateway.SendReclaimedAsync(run.RunId, results, cancellationToken);
        }
        LogReclaimed(logger, run.RunId, deleted);
    }

    private static TokenBucketRateLimiter Pace(int requestsPerSecond) => new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = requestsPerSecond,
        TokensPerPeriod = requestsPerSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = int.MaxValue,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        AutoReplenishment = true,
    });

    /// <summary>An object's check: done at once (<see cref="Ready"/>), or a request or hash under way (<see cref="Looking"/>).</summary>
    private readonly record struct PendingCheck(ListingEntry? Ready, Task<ListingEntry?>? Looking);

    /// <summary>The object as listed, unless the run's depth looks closer at it (a head request, or a deep hash of a sampled key).</summary>
    private static PendingCheck Check(
        ITierStore store, StoredObject stored, ReconcileRunOrder run, RateLimiter pace, SemaphoreSlim checks, CancellationToken cancellationToken)
    {
        // The name is the hash: read in place (a copy per object of a million-object listing shows), taken as a string only for a closer look.
        var hash = stored.Key.AsSpan(stored.Key.LastIndexOf('/') + 1);
        var looked = run.Depth switch
        {
            // A path store keeps no metadata beside the name: its head is its listing.
            "head" => store.Kind != "path",
            "deep" => Sampled(hash, run.SamplePercent),
            _ => false,
        };
        return looked
            ? new PendingCheck(null, LookAsync(store, stored, hash.ToString(), run.Depth, pace, checks, cancellationToken))
            : new PendingCheck(Listed(stored, null, false), null);
    }

    /// <summary>The object with what a closer look found wrong, or null when it vanished while being looked at.</summary>
    private static async Task<ListingEntry?> LookAsync(
        ITierStore store, StoredObject stored, string expected, string depth, RateLimiter pace, SemaphoreSlim checks, CancellationToken cancellationToken)
    {
        await checks.WaitAsync(cancellationToken);
        try
        {
            await PaceAsync(pace, cancellationToken);
            if (depth == "head")
            {
                return await store.GetInfoAsync(stored.Key, cancellationToken) is { } info
                    ? Listed(stored, info.Sha256 == expected ? null : $"the store records SHA-256 {info.Sha256} for it, not the key's", true)
                    : null;
            }
            var actual = await Sha256Check.OfObjectAsync(store, stored.Key, cancellationToken);
            return Listed(stored, actual == expected ? null : $"its bytes hash to {actual}, not to the key's SHA-256: the object is damaged", true);
        }
        catch (TierObjectNotFoundException)
        {
            return null;
        }
        finally
        {
            checks.Release();
        }
    }

    /// <summary>The same keys every run (the first hex digits of the hash, which is uniform), so a sample is repeatable.</summary>
    private static bool Sampled(ReadOnlySpan<char> sha256, int percent) =>
        percent >= 100 || int.Parse(sha256[..4], System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture) % 100 < percent;

    private static ListingEntry Listed(StoredObject stored, string? problem, bool checkedNow) =>
        new(stored.Key, stored.Length, stored.Modified, problem, checkedNow);

    private static async Task PaceAsync(RateLimiter pace, CancellationToken cancellationToken)
    {
        using var lease = await pace.AcquireAsync(1, cancellationToken);
    }

    /// <summary>Sends a part, trying again while the gateway is unreachable or failing; the run's cursor after it.</summary>
    private async Task<ListingReceipt> SendAsync(Guid runId, ListingPart part, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await gateway.SendListingPartAsync(runId, part, cancellationToken);
            }
            catch (HttpRequestException exception) when (attempt < SendRetries.Length)
            {
                LogSendRetry(logger, runId, exception.Message);
                await Task.Delay(SendRetries[attempt], cancellationToken);
            }
        }
    }

    /// <summary>
    /// Whether the run's answer to a part says it is no longer listing (cancelled by an admin, or
    /// ended as failed when it was thought silent): the rest of the target is then not listed, and
    /// no request more is made of tier 2 for it.
    /// </summary>
    private bool RunIsOver(Guid runId, ListingReceipt receipt)
    {
        if (receipt.Status is "listing" or "listed")
        {
            return false;
        }
        LogRunOver(logger, runId, receipt.Status);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId} is {Status}: the listing stops")]
    private static partial void LogRunOver(ILogger logger, Guid runId, string status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId}: listing target {TargetId} ({Depth}) after {Cursor}")]
    private static partial void LogListing(ILogger logger, Guid runId, Guid targetId, string depth, string cursor);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId}: {Listed} objects listed and handed over")]
    private static partial void LogListed(ILogger logger, Guid runId, long listed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId} is {Status}: nothing to list")]
    private static partial void LogNothingToDo(ILogger logger, Guid runId, string status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId} is {Status}: no orphan more is deleted ({Deleted} deleted)")]
    private static partial void LogReclaimStopped(ILogger logger, Guid runId, string status, long deleted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId}: {Deleted} orphan(s) deleted")]
    private static partial void LogReclaimed(ILogger logger, Guid runId, long deleted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile run {RunId}: orphan {Key} could not be deleted ({Reason}); reported, kept")]
    private static partial void LogReclaimFailed(ILogger logger, Guid runId, string key, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile run {RunId}: a part could not be sent ({Reason}); trying again")]
    private static partial void LogSendRetry(ILogger logger, Guid runId, string reason);
}
