using Alto.Audit;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Reconcile;
using Alto.Grains.Tiers;
using Alto.Scanning;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Reconcile;

/// <summary>
/// One reconciliation run (see <see cref="IReconcileRunGrain"/>). Not reentrant: the parts of a
/// listing are taken one at a time against the run's cursor, and the classification runs once.
/// Every repair goes through the tier-object ledger (one writer per tier object), which audits
/// each move; the run itself leaves one summary entry.
/// </summary>
public sealed partial class ReconcileRunGrain(
    ReconcileRuns rows,
    ReconcileCensus census,
    ReconcileComparison comparison,
    ReconcileReclaims reclaims,
    ReconcileRestores restores,
    TierObjectLedger ledger,
    AdminAudit audit,
    ReconcileMetrics metrics,
    Live.LivePublisher live,
    IGrainFactory grains,
    TimeProvider time,
    ILogger<ReconcileRunGrain> logger) : Grain, IReconcileRunGrain, IRemindable
{
    /// <summary>
    /// A run that finds more than this share of the target's stubs missing (and more than
    /// <see cref="MassLossFloor"/>) marks none of them LOST unless the admin allowed it: a wrong
    /// or half-mounted target must not condemn every stub. The findings are kept all the same.
    /// </summary>
    public const double MassLossShare = 0.10;

    public const int MassLossFloor = 10;

    /// <summary>What the answer to the last part of a listing says: the run took it all and goes on to its census.</summary>
    public const string ListedStatus = "listed";

    /// <summary>What the answer to the last census report says: the run is classifying.</summary>
    public const string ClassifyingStatus = "classifying";

    private IGrainTimer? _afterAnswer;

    private Guid Id => this.GetPrimaryKey();

    public async Task<CommandResult<ReconcileRunInfo>> StartAsync(Guid tenantId, ReconcileOrder order)
    {
        if (order.SamplePercent is < 1 or > 100)
        {
            return CommandResult<ReconcileRunInfo>.Invalid("samplePercent", "samplePercent must be 1 to 100");
        }
        if (order.RequestsPerSecond is < 1 or > 100_000)
        {
            return CommandResult<ReconcileRunInfo>.Invalid("requestsPerSecond", "requestsPerSecond must be 1 to 100000");
        }
        if (await rows.ReadAsync(Id) is not null)
        {
            return CommandResult<ReconcileRunInfo>.Conflict($"reconcile run {Id} exists already");
        }
        if (!await rows.TargetIsTenantsAsync(tenantId, order.TargetId))
        {
            return CommandResult<ReconcileRunInfo>.NotFound($"storage target {order.TargetId} not found (or disabled)");
        }
        if (await rows.ListingRunOfAsync(order.TargetId) is { } running)
        {
            if (time.GetUtcNow() - running.UpdatedAt < SilentAfter)
            {
                return CommandResult<ReconcileRunInfo>.Conflict($"reconcile run {running.RunId} is listing this target already");
            }
            await grains.GetGrain<IReconcileRunGrain>(running.RunId).AbandonAsync(null,
                $"its listing agent sent nothing since {running.UpdatedAt:u}; run {Id} takes over");
        }
        if (await rows.ListingHostAsync(tenantId, order.TargetId) is not { } hostId)
        {
            return CommandResult<ReconcileRunInfo>.Conflict("no agent of this tenant is online to list the target: start the run when one is");
        }
        var policy = await rows.OrphanPolicyAsync(tenantId);
        var run = new ReconcileRunInfo(Id, tenantId, order.TargetId, hostId, order.Depth, order.Depth == ReconcileDepth.Deep ? order.SamplePercent : 100,
            order.RequestsPerSecond, ReconcileRunInfo.Listing, null, 0, 0, new Dictionary<string, long>(), null, time.GetUtcNow(), null, order.AllowMassLoss,
            policy.GraceDays, order.ReclaimOrphans ?? policy.Reclaim);
        var started = new AuditEntry(tenantId, order.Actor, "reconcile.started", "storage_target", order.TargetId.ToString(), Succeeded: true,
            new Dictionary<string, object?>
            {
                ["runId"] = Id, ["depth"] = ReconcileRuns.DepthName(run.Depth), ["samplePercent"] = run.SamplePercent,
                ["requestsPerSecond"] = run.RequestsPerSecond, ["listingHostId"] = hostId, ["reclaimOrphans"] = run.ReclaimOrphans,
                ["orphanGraceDays"] = run.OrphanGraceDays,
            }) { HostId = hostId, Origin = AuditContext.Origin };
        if (!await rows.InsertAsync(run, order.Actor, started))
        {
            return CommandResult<ReconcileRunInfo>.Conflict("another run began listing this target just now");
        }
        await this.RegisterOrUpdateReminder(SilenceWatch, SilentAfter, SilenceWatchPeriod);
        var queued = await grains.GetGrain<IHostGrain>(hostId.ToString()).RequestReconcileAsync(Id);
        if (queued.Error is { } error)
        {
            await EndAsync(run, ReconcileRunInfo.Failed, $"the listing could not be queued for host {hostId}: {error.Message}", [], new Dictionary<string, long>());
            return CommandResult<ReconcileRunInfo>.Fail(error.Kind, error.Message);
        }
        metrics.Run(tenantId, "started");
        LogStarted(logger, Id, order.TargetId, hostId, ReconcileRuns.DepthName(run.Depth));
        return CommandResult<ReconcileRunInfo>.Ok(run);
    }

    public async Task<CommandResult<ReconcileRunInfo>> GetForAgentAsync(Guid tenantId, Guid hostId) =>
        await rows.ReadAsync(Id) is { } run && run.TenantId == tenantId && run.HostId == hostId
            ? CommandResult<ReconcileRunInfo>.Ok(run)
            : CommandResult<ReconcileRunInfo>.NotFound($"reconcile run {Id} not found");

    public async Task AbandonAsync(Guid? hostId, string reason)
    {
        if (hostId is { } host)
        {
            // The agent of a copy gave up: the re-tiers waiting on it fail with its reason (the run itself may be over).
            var failed = await restores.FailPendingAsync(Id, host, reason);
            if (failed.Count > 0 && await rows.ReadAsync(Id) is { } over)
            {
                await RecordSettledAsync(over.TenantId, failed);
            }
        }
        if (await rows.ReadAsync(Id) is { } run && ReconcileRunInfo.IsGoing(run.Status)
            && (hostId is null || run.HostId == hostId || run.Status == ReconcileRunInfo.Census))
        {
            await EndBeforeItsTimeAsync(run, ReconcileRunInfo.Failed, reason, actor: null);
        }
    }

    /// <summary>Ends a run still going: what was found stays, the orphans not deleted yet are kept, and what its reclaim did is counted.</summary>
    private async Task EndBeforeItsTimeAsync(ReconcileRunInfo run, string status, string reason, string? actor)
    {
        if (run.Status == ReconcileRunInfo.Reclaiming)
        {
            await reclaims.KeepPendingAsync(Id, reason);
        }
        await EndAsync(run, status, reason, [], run.Status == ReconcileRunInfo.Reclaiming ? await ReclaimCountsAsync(run) : new Dictionary<string, long>(), actor);
    }

    public async Task<CommandResult<ReconcileRunInfo>> CancelAsync(Guid tenantId, string actor)
    {
        if (await rows.ReadAsync(Id) is not { } run || run.TenantId != tenantId)
        {
            return CommandResult<ReconcileRunInfo>.NotFound($"reconcile run {Id} not found");
        }
        if (!ReconcileRunInfo.IsGoing(run.Status))
        {
            return CommandResult<ReconcileRunInfo>.Conflict($"reconcile run {Id} is {run.Status} already");
        }
        await EndBeforeItsTimeAsync(run, ReconcileRunInfo.Cancelled, $"cancelled by {actor}", actor);
        return CommandResult<ReconcileRunInfo>.Ok(await rows.ReadAsync(Id) ?? run);
    }

    public async Task<CommandResult<ReconcileListingReceipt>> RecordListingAsync(Guid tenantId, Guid hostId, ReconcileListing listing)
    {
        if (await rows.ReadAsync(Id) is not { } run || run.TenantId != tenantId || run.HostId != hostId)
        {
            return CommandResult<ReconcileListingReceipt>.NotFound($"reconcile run {Id} not found");
        }
        if (ListingPartFormat.Read(listing.Packed, out var unreadable) is not { } part)
        {
            return CommandResult<ReconcileListingReceipt>.Invalid("part", unreadable!);
        }
        if (ListingCheck.Problem(part, tenantId) is { } problem)
        {
            return CommandResult<ReconcileListingReceipt>.Invalid(problem.Field, problem.Message);
        }
        part = ListingCheck.Storable(part);
        if (run.Status != ReconcileRunInfo.Listing)
        {
            // The answer to the last part was lost and the agent sends it again: the run took it.
            return CommandResult<ReconcileListingReceipt>.Ok(new ReconcileListingReceipt(run.CursorKey, Duplicate: true, run.Status));
        }
        switch (await rows.AppendAsync(run, part, time.GetUtcNow()))
        {
            case ListingPartOutcome.Duplicate:
                return CommandResult<ReconcileListingReceipt>.Ok(new ReconcileListingReceipt(run.CursorKey, Duplicate: true, run.Status));
            case ListingPartOutcome.OutOfOrder:
                return CommandResult<ReconcileListingReceipt>.Conflict($"the part does not follow the run's cursor: resume after '{run.CursorKey ?? "(the start)"}'");
            case ListingPartOutcome.Ended:
                return CommandResult<ReconcileListingReceipt>.Ok(new ReconcileListingReceipt(run.CursorKey, Duplicate: true, ReconcileRunInfo.Completed));
        }
        var cursor = part.Entries.Count > 0 ? part.Entries[^1].Key : run.CursorKey;
        if (part.Failure is { } failure)
        {
            await EndAsync(run, ReconcileRunInfo.Failed, "the agent could not finish the listing: " + failure, [], new Dictionary<string, long>());
            return CommandResult<ReconcileListingReceipt>.Ok(new ReconcileListingReceipt(cursor, Duplicate: false, ReconcileRunInfo.Failed));
        }
        if (!part.Finished)
        {
            return CommandResult<ReconcileListingReceipt>.Ok(new ReconcileListingReceipt(cursor, Duplicate: false, ReconcileRunInfo.Listing));
        }
        // Seeding the census (a row per stub of the target) can outlast the agent's request: it runs after the answer.
        RunAfterAnswer(run, () => BeginCensusAsync(run));
        return CommandResult<ReconcileListingReceipt>.Ok(new ReconcileListingReceipt(cursor, Duplicate: false, ListedStatus));
    }

    /// <summary>
    /// Runs set-wise work over the whole target (the census's seed, the classification) on a
    /// one-shot grain timer, after the agent (or the reminder) has its answer: it takes as long as the target is
    /// large, and must not hold a request (or a grain call) that long. The timer does not
    /// interleave with the run's requests. Work that fails ends the run as failed, with the reason.
    /// </summary>
    private void RunAfterAnswer(ReconcileRunInfo run, Func<Task> work)
    {
        _afterAnswer?.Dispose();
        _afterAnswer = this.RegisterGrainTimer(async _ =>
        {
            try
            {
                // Work queued before the run ended (cancelled, or failed, meanwhile) finds it over and does nothing:
                // classifying a listing cut short would take every stub it did not reach for missing.
                if (await rows.ReadAsync(Id) is { } current && ReconcileRunInfo.IsGoing(current.Status))
                {
                    await work();
                }
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                LogWorkFailed(logger, exception, Id);
                await EndAsync(run, ReconcileRunInfo.Failed, "classifying the run failed: " + exception.Message, [], new Dictionary<string, long>());
            }
        }, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
    }

    /// <summary>The listing against the records: what is missing is marked LOST, what came back is STUBBED again, orphans are reported.</summary>
    private async Task ClassifyAsync(ReconcileRunInfo run)
    {
        var actor = $"reconcile:{Id}";
        var findings = new List<ReconcileFinding>();
        var (settled, closed) = await RepairDriftAsync(run, actor, findings);
        var compared = await comparison.CompareAsync(run, settled);
        compared.Orphans.AddRange(await comparison.FreedObjectsAsync(run, closed, compared.Orphans, time.GetUtcNow()));
        var missing = compared.Missing;
        var stubbed = await comparison.StubbedCountAsync(run);
        if (!run.AllowMassLoss && missing.Count > MassLossFloor && missing.Count > stubbed * MassLossShare)
        {
            var held = $"none: held back, {missing.Count} of {stubbed} stubs of the target look lost; check that the target is the right one and reachable, "
                       + "then run again with allowMassLoss to mark them";
            findings.AddRange(missing.Select(item => new ReconcileFinding("missing", item.Kind, item.Locator, item.TierObjectId, item.HostId, item.Path, item.Detail, held)));
            LogHeldBack(logger, Id, run.TargetId, missing.Count, stubbed);
            missing = [];
        }
        var copies = new List<IntactCopy>();
        foreach (var byHost in missing.GroupBy(item => item.HostId))
        {
            var outcomes = await ledger.ApplyAsync(byHost.Key,
                [.. byHost.Select(item => new TierChange(item.TierObjectId, new TierEvent(TierEventKind.Lost, actor, Reason: $"{item.Detail} (reconcile run {Id})")))],
                CancellationToken.None);
            var refusals = outcomes.Where(outcome => !outcome.Applied).ToDictionary(outcome => outcome.TierObjectId, outcome => outcome.Refusal!);
            var restorable = (await restores.PlanAsync(run, [.. outcomes.Where(outcome => outcome.Applied).Select(outcome => outcome.TierObjectId)]))
                .ToDictionary(copy => copy.TierObjectId);
            copies.AddRange(restorable.Values);
            findings.AddRange(byHost.Select(item => new ReconcileFinding("missing", item.Kind, item.Locator, item.TierObjectId, item.HostId, item.Path, item.Detail,
                refusals.TryGetValue(item.TierObjectId, out var refusal) ? "none: the record changed meanwhile (" + refusal + ")"
                : restorable.TryGetValue(item.TierObjectId, out var copy) ? $"marked LOST; re-tiering from the intact copy at {copy.CopyHostId}:{copy.CopyPath}"
                : "marked LOST")));
        }
        var found = compared.FoundAgain;
        foreach (var byHost in found.GroupBy(item => item.HostId))
        {
            var outcomes = await ledger.ApplyAsync(byHost.Key,
                [.. byHost.Select(item => new TierChange(item.TierObjectId, new TierEvent(TierEventKind.Found, actor, Reason: $"the object is whole again (reconcile run {Id})")))],
                CancellationToken.None);
            findings.AddRange(outcomes.Where(outcome => outcome.Applied).Select(outcome => new ReconcileFinding(
                "found", "whole", outcome.After!.Locator, outcome.TierObjectId, outcome.After.HostId, outcome.After.FullPath, "the object is whole again", "STUBBED again")));
        }
        // Stubs lost before whose content has since turned up whole on a host are re-tiered from it too.
        var fromCopies = await restores.PlanAsync(run, compared.StillLost);
        copies.AddRange(fromCopies);
        findings.AddRange(fromCopies.Select(copy => new ReconcileFinding("found", "copy", copy.Locator, copy.TierObjectId, copy.LostHostId, copy.LostPath,
            $"the content of this LOST stub is whole at {copy.CopyHostId}:{copy.CopyPath}", $"re-tiering from the intact copy at {copy.CopyHostId}:{copy.CopyPath}")));
        var orphans = compared.Orphans;
        var uncheckedStubs = await census.UncheckedAsync(Id);
        var (orphanFindings, reclaimBefore) = JudgeOrphans(run, orphans, uncheckedStubs);
        findings.AddRange(orphanFindings);
        var counts = new Dictionary<string, long>
        {
            ["objects"] = run.ObjectsListed, ["missing"] = findings.Count(finding => finding.Class == "missing"), ["orphan"] = orphans.Count,
            ["drift"] = findings.Count(finding => finding.Class == "drift"), ["found"] = found.Count, ["unchecked"] = uncheckedStubs,
        };
        foreach (var kind in findings.GroupBy(finding => (finding.Class, finding.Kind)))
        {
            counts[$"{kind.Key.Class}.{kind.Key.Kind}"] = kind.Count();
            metrics.Found(run.TenantId, kind.Key.Class, kind.Key.Kind, kind.Count());
        }
        if (findings.Any(finding => finding.Reclaim == ReconcileReclaimStates.Pending))
        {
            await BeginReclaimAsync(run, findings, counts, reclaimBefore);
        }
        else
        {
            await EndAsync(run, ReconcileRunInfo.Completed, null, findings, counts);
        }
        await QueueRestoresAsync(run, copies);
        if (missing.Count > 0)
        {
            LogMissing(logger, Id, run.TargetId, missing.Count, missing[0].Path, missing[0].Detail);
        }
    }

    /// <summary>Ends the run with its audit entry (one transaction), by the run itself unless <paramref name="actor"/> (an admin who cancelled it) says otherwise.</summary>
    private async Task EndAsync(ReconcileRunInfo run, string status, string? error, IReadOnlyList<ReconcileFinding> findings, IReadOnlyDictionary<string, long> counts,
        string? actor = null)
    {
        var listed = await rows.ReadAsync(Id) ?? run;
        var allCounts = new Dictionary<string, long>(counts) { ["objects"] = listed.ObjectsListed, ["checked"] = listed.ObjectsChecked };
        var details = new Dictionary<string, object?> { ["runId"] = Id, ["depth"] = ReconcileRuns.DepthName(run.Depth), ["counts"] = allCounts, ["error"] = error };
        // A cancellation is the admin's action, done as asked; a run's own end succeeds when it completed and found nothing missing.
        var succeeded = status == ReconcileRunInfo.Cancelled || (status == ReconcileRunInfo.Completed && allCounts.GetValueOrDefault("missing") == 0);
        await rows.FinishAsync(Id, status, error, findings, allCounts, time.GetUtcNow(), new AuditEntry(run.TenantId, actor ?? $"reconcile:{Id}", "reconcile." + status,
            "storage_target", run.TargetId.ToString(), succeeded, details)
        {
            HostId = run.HostId,
        });
        metrics.Run(run.TenantId, status);
        // Findings name paths: support and up see them, as they see the findings' pages.
        await live.PublishAsync(run.TenantId, GrainInterfaces.Live.LiveEventKinds.SanitizerFindings, GrainInterfaces.Live.LiveAudience.Support,
            new { runId = Id, targetId = run.TargetId, status, error, counts = allCounts }, run.HostId);
        if (status == ReconcileRunInfo.Cancelled)
        {
            LogCancelled(logger, Id, run.TargetId, error);
        }
        else if (error is not null)
        {
            LogFailed(logger, Id, run.TargetId, error);
        }
        else
        {
            LogCompleted(logger, Id, run.TargetId, listed.ObjectsListed, allCounts.GetValueOrDefault("missing"), allCounts.GetValueOrDefault("orphan"));
        }
        try
        {
            await ForgetSilenceWatchAsync();
        }
        catch (Exception exception) when (exception is Orleans.Runtime.ReminderException or NpgsqlException or TimeoutException)
        {
            // The run has ended all the same; the watch's next look finds it ended and goes.
            LogWatchKept(logger, exception, Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Reconcile run {RunId}: its work over the target failed")]
    private static partial void LogWorkFailed(ILogger logger, Exception exception, Guid runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId} of target {TargetId} ended: {Reason}")]
    private static partial void LogCancelled(ILogger logger, Guid runId, Guid targetId, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId} of target {TargetId} started: host {HostId} lists it ({Depth})")]
    private static partial void LogStarted(ILogger logger, Guid runId, Guid targetId, Guid hostId, string depth);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId} of target {TargetId} completed: {Objects} objects, {Missing} missing, {Orphans} orphans")]
    private static partial void LogCompleted(ILogger logger, Guid runId, Guid targetId, long objects, long missing, long orphans);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reconcile run {RunId} of target {TargetId} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, Guid runId, Guid targetId, string error);

    [LoggerMessage(Level = LogLevel.Critical,
        Message = "Reconcile run {RunId}: {Count} of {Stubbed} stubs on target {TargetId} look lost; none marked LOST without the admin's confirmation (allowMassLoss)")]
    private static partial void LogHeldBack(ILogger logger, Guid runId, Guid targetId, int count, long stubbed);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Reconcile run {RunId}: {Count} stub(s) on target {TargetId} lost their tier-2 data and are marked LOST, e.g. {Path}: {Detail}")]
    private static partial void LogMissing(ILogger logger, Guid runId, Guid targetId, int count, string path, string detail);
}
