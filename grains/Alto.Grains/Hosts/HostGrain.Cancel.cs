using Alto.Audit;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Live;
using Alto.GrainInterfaces.Tiers;
using Alto.Grains.Tiers;
using Microsoft.Extensions.Logging;

namespace Alto.Grains.Hosts;

/// <summary>
/// Cancelling a job. One not sent yet ends at once and its files not tiered are held back from
/// planning. One the agent has stays the agent's until it says which files it did not start:
/// the grain only notes the request and tells the agent, and the job ends cancelled with the
/// agent's last report (<see cref="SettleCancelledAsync"/>). A file the cluster never heard the
/// agent leave alone is never taken for untouched: it may be a stub by now.
/// </summary>
public sealed partial class HostGrain
{
    public async Task<CommandResult<CancelledJob>> CancelJobAsync(Guid jobId, TimeSpan hold, string? reason)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(hold, TimeSpan.Zero);
        var why = string.IsNullOrWhiteSpace(reason) ? $"cancelled by {AuditContext.Actor}" : $"cancelled by {AuditContext.Actor}: {reason}";
        var rows = new CancelledJobRows(null, null, []);
        var outcomes = await ledger.ApplyAsync(Id, async (connection, transaction, cancellationToken) =>
        {
            rows = await JobRows.CancelAsync(connection, transaction, Id, jobId, why, hold, cancellationToken);
            if (rows.Outcome is null)
            {
                return new LedgerBatch([], []);
            }
            var held = new TierEvent(TierEventKind.Cancelled, AuditContext.Actor, Reason: why) { Hold = hold };
            return new LedgerBatch([.. rows.TierObjectIds.Select(id => new TierChange(id, held))], [AdminAudit.Entry(host.State.TenantId,
                rows.Outcome == CancelledNow ? "tier.job_cancelled" : "tier.job_cancel_requested", "tiering_job", jobId.ToString(), null, null,
                new Dictionary<string, object?>
                {
                    ["hostId"] = Id, ["statusBefore"] = rows.StatusBefore, ["filesHeld"] = rows.TierObjectIds.Length, ["reason"] = reason, ["holdDays"] = hold.TotalDays,
                }, hostId: Id)]);
        }, CancellationToken.None);
        if (rows.StatusBefore is null)
        {
            return CommandResult<CancelledJob>.NotFound($"job {jobId} not found");
        }
        if (rows.Outcome is null && !rows.AskedBefore)
        {
            return CommandResult<CancelledJob>.Conflict($"job {jobId} has already ended ({rows.StatusBefore}); only a job that has not ended is cancelled");
        }
        var status = rows.Outcome ?? Cancelling;
        LogJobCancelled(logger, Id, jobId, status, why);
        if (status == Cancelling)
        {
            if (_observer is { } observer)
            {
                await TellAgentToCancelAsync(observer, jobId);
            }
            // A queued job goes now (or as soon as the agent is back), marked cancelled: reported, not tiered.
            await DispatchAsync();
        }
        await live.PublishAsync(host.State.TenantId, LiveEventKinds.JobProgress, LiveAudience.Everyone, new { hostId = Id, jobId, finished = status == CancelledNow, status }, Id);
        return CommandResult<CancelledJob>.Ok(new CancelledJob(jobId, status, outcomes.Count(outcome => outcome.Applied), time.GetUtcNow() + hold));
    }

    private const string CancelledNow = "cancelled";
    private const string Cancelling = "cancelling";

    /// <summary>The agent hears at once; if the session's gateway is gone, the job's next sending carries the cancellation instead.</summary>
    private async Task TellAgentToCancelAsync(IAgentSessionObserver observer, Guid jobId)
    {
        try
        {
            await observer.CancelJobAsync(jobId).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            LogDeliveryFailed(logger, exception, $"the cancellation of job {jobId}", Id);
            _observer = null;
        }
    }

    /// <summary>
    /// The events the agent's results of a job an admin cancelled come to: a file not started, or
    /// left as it was because tier 2 could not be reached, is held as the admin asked (not sent again).
    /// </summary>
    private static TierEvent CancelledEvent(TierFileResult result, JobCancelRequest cancel, string actor) =>
        new(TierEventKind.Cancelled, actor, Reason: result.Outcome == TierFileOutcome.Unavailable ? $"{cancel.Reason} (tier 2 could not be reached)" : cancel.Reason)
        {
            Hold = cancel.Hold,
        };

    /// <summary>
    /// The agent finished a job an admin cancelled: the files it was never sent (their volume not
    /// armed when it went) are held like the others, and the job ends cancelled. With
    /// <paramref name="noneStarted"/> (the agent refused the whole job) the files sent are held too.
    /// </summary>
    private async Task SettleCancelledAsync(Guid jobId, JobCancelRequest cancel, string actor, bool noneStarted = false)
    {
        var untouched = await jobs.OpenFilesAsync(jobId, onlyPlanned: !noneStarted);
        if (untouched.Length > 0)
        {
            var held = new TierEvent(TierEventKind.Cancelled, actor, Reason: cancel.Reason) { Hold = cancel.Hold };
            await ledger.ApplyAsync(Id, [.. untouched.Select(file => new TierChange(file.TierObjectId, held))], CancellationToken.None);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId}: job {JobId} {Status} ({Reason})")]
    private static partial void LogJobCancelled(ILogger logger, Guid hostId, Guid jobId, string status, string reason);
}
