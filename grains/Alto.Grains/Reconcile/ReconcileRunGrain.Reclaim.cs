using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Reconcile;
using Microsoft.Extensions.Logging;

namespace Alto.Grains.Reconcile;

/// <summary>
/// The reclaiming phase: orphans past the tenant's grace period are deleted by the listing agent,
/// each only if the store still shows it unmodified since the run's cut-off, and only when nothing
/// says an object might still be some stub's data.
/// </summary>
public sealed partial class ReconcileRunGrain
{
    /// <summary>
    /// What the run does with each orphan, and the cut-off before which an orphan may be deleted:
    /// kept within the grace period; past it, deleted when the run reclaims and nothing holds it back.
    /// </summary>
    private (List<ReconcileFinding> Findings, DateTimeOffset Before) JudgeOrphans(ReconcileRunInfo run, IReadOnlyList<OrphanObject> orphans, long uncheckedStubs)
    {
        var grace = TimeSpan.FromDays(run.OrphanGraceDays);
        var before = time.GetUtcNow() - grace;
        var pastGrace = orphans.Count(orphan => orphan.Modified < before);
        var held = !run.ReclaimOrphans ? "reclaimable (past the grace period); the tenant's policy keeps orphans (reclaimOrphans is off)"
            : uncheckedStubs > 0 ? $"reclaimable, but {uncheckedStubs} stub(s) of the target were not checked (host offline, a Windows agent that does not answer a census, an agent that does not read names that are not UTF-8, or one that never answered): an object may be theirs"
            : !run.AllowMassLoss && pastGrace > MassLossFloor && pastGrace > run.ObjectsListed * MassLossShare
                ? $"held back: {pastGrace} of {run.ObjectsListed} objects look unreferenced; check the records and the target, then run again with allowMassLoss"
                : null;
        var findings = orphans.Select(orphan =>
        {
            var detail = $"no record references this object ({orphan.Length} bytes){(orphan.Problem is null ? "" : "; " + orphan.Problem)}";
            var kind = orphan.Problem is null ? "unreferenced" : "unreferenced_damaged";
            return orphan.Modified is not { } modified || modified >= before
                ? new ReconcileFinding("orphan", kind, orphan.Key, null, null, null, detail, orphan.Modified is { } young
                    ? $"kept: within the {run.OrphanGraceDays}-day grace period until {young + grace:yyyy-MM-dd HH:mm}Z"
                    : "kept: the store gives no time for it")
                : held is not null
                    ? new ReconcileFinding("orphan", kind, orphan.Key, null, null, null, detail, "kept: " + held)
                    : new ReconcileFinding("orphan", kind, orphan.Key, null, null, null, detail, "deleting: past the grace period", ReconcileReclaimStates.Pending);
        }).ToList();
        return (findings, before);
    }

    /// <summary>Keeps the findings and hands the orphans to delete to the listing agent; if it cannot be asked, they are kept and the run ends.</summary>
    private async Task BeginReclaimAsync(ReconcileRunInfo run, List<ReconcileFinding> findings, Dictionary<string, long> counts, DateTimeOffset before)
    {
        await rows.BeginReclaimAsync(Id, findings, counts, before, time.GetUtcNow());
        var queued = await grains.GetGrain<IHostGrain>(run.HostId!.Value.ToString()).RequestReconcileAsync(Id);
        if (queued.Error is { } error)
        {
            await reclaims.KeepPendingAsync(Id, $"the reclaim could not be queued for host {run.HostId}: {error.Message}");
            await FinishReclaimAsync(run with { Counts = counts });
            return;
        }
        LogReclaiming(logger, Id, run.TargetId, findings.Count(finding => finding.Reclaim == ReconcileReclaimStates.Pending), before);
    }

    public async Task<CommandResult<ReclaimOrder>> GetReclaimAsync(Guid tenantId, Guid hostId)
    {
        if (await rows.ReadAsync(Id) is not { } run || run.TenantId != tenantId || run.HostId != hostId)
        {
            return CommandResult<ReclaimOrder>.NotFound($"reconcile run {Id} not found");
        }
        if (run.Status != ReconcileRunInfo.Reclaiming)
        {
            return CommandResult<ReclaimOrder>.Ok(new ReclaimOrder(default, [], run.Status));
        }
        // A record may have come to name an orphan since the classification (an upload of the same content): it is data again.
        await reclaims.KeepReferencedAsync(run);
        var keys = await reclaims.PendingAsync(Id, ReclaimOrder.MaxKeys);
        if (keys.Length == 0)
        {
            await FinishReclaimAsync(run);
            return CommandResult<ReclaimOrder>.Ok(new ReclaimOrder(default, [], ReconcileRunInfo.Completed));
        }
        return CommandResult<ReclaimOrder>.Ok(new ReclaimOrder(run.ReclaimBefore!.Value, keys, run.Status));
    }

    public async Task<CommandResult<ReclaimReceipt>> RecordReclaimAsync(Guid tenantId, Guid hostId, ReclaimResult[] results)
    {
        if (await rows.ReadAsync(Id) is not { } run || run.TenantId != tenantId || run.HostId != hostId)
        {
            return CommandResult<ReclaimReceipt>.NotFound($"reconcile run {Id} not found");
        }
        if (run.Status is not (ReconcileRunInfo.Reclaiming or ReconcileRunInfo.Cancelled or ReconcileRunInfo.Failed))
        {
            // A report sent again after the run completed (its answer was lost) changes nothing.
            return CommandResult<ReclaimReceipt>.Ok(new ReclaimReceipt(0, 0, run.Status));
        }
        if (ReclaimCheck.Problem(results) is { } problem)
        {
            return CommandResult<ReclaimReceipt>.Invalid(problem.Field, problem.Message);
        }
        // A run cancelled (or ended as failed) while its agent was deleting still takes what was deleted meanwhile:
        // those objects are gone, and their findings and audit entries say so. The answer tells the agent to stop.
        if (await reclaims.SettleAsync(run, ReclaimCheck.Storable(results), time.GetUtcNow()) is not { } settled)
        {
            return CommandResult<ReclaimReceipt>.Invalid("results", "the report names an object this run is not reclaiming");
        }
        foreach (var outcome in settled.Settled.GroupBy(result => result.Outcome))
        {
            metrics.Reclaimed(run.TenantId, outcome.Key, outcome.Count());
        }
        foreach (var failed in settled.Settled.Where(result => result.Outcome == ReclaimResult.Failed))
        {
            LogReclaimFailed(logger, Id, failed.Key, failed.Detail ?? "no reason given");
        }
        if (run.Status != ReconcileRunInfo.Reclaiming)
        {
            return CommandResult<ReclaimReceipt>.Ok(new ReclaimReceipt(settled.Settled.Count, 0, run.Status));
        }
        if (settled.Pending == 0)
        {
            await FinishReclaimAsync(run);
            return CommandResult<ReclaimReceipt>.Ok(new ReclaimReceipt(settled.Settled.Count, 0, ReconcileRunInfo.Completed));
        }
        return CommandResult<ReclaimReceipt>.Ok(new ReclaimReceipt(settled.Settled.Count, settled.Pending, ReconcileRunInfo.Reclaiming));
    }

    private async Task FinishReclaimAsync(ReconcileRunInfo run) =>
        await EndAsync(run, ReconcileRunInfo.Completed, null, [], await ReclaimCountsAsync(run));

    /// <summary>The run's counts with how its orphans fared.</summary>
    private async Task<Dictionary<string, long>> ReclaimCountsAsync(ReconcileRunInfo run)
    {
        var (deleted, kept) = await reclaims.OutcomeAsync(Id);
        return new Dictionary<string, long>(run.Counts) { ["orphan.deleted"] = deleted, ["orphan.kept"] = kept };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId} of target {TargetId}: {Count} orphan(s) unmodified since {Before:u} go to the agent to delete")]
    private static partial void LogReclaiming(ILogger logger, Guid runId, Guid targetId, int count, DateTimeOffset before);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile run {RunId}: orphan {Key} could not be deleted ({Reason}); it is kept")]
    private static partial void LogReclaimFailed(ILogger logger, Guid runId, string key, string reason);
}
