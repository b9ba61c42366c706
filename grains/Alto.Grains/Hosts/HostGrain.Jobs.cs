using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Live;
using Alto.GrainInterfaces.Tenants;
using Alto.GrainInterfaces.Tiers;
using Alto.Rules;
using Alto.Grains.Tiers;
using Alto.Scanning;
using Microsoft.Extensions.Logging;

namespace Alto.Grains.Hosts;

/// <summary>
/// Dispatch: queued jobs go down the agent's stream while it is online, one at a time; a job not
/// finished within its lease is sent again (the agent handles a repeat idempotently), and jobs
/// live in alto.tiering_job, so they survive any restart. Each dispatch and each report moves its
/// files' tier objects in one batch through the <see cref="Tiers.TierObjectLedger"/>.
/// </summary>
public sealed partial class HostGrain
{
    public const int MaxJobsInFlight = 1;
    private TimeSpan UnavailableRetry => dispatchOptions.Value.UnavailableRetry;

    /// <summary>How long a job whose files are not under armed recall waits before it is looked at again (a heartbeat that arms recall sends it at once).</summary>
    private static readonly TimeSpan UnarmedRetry = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The volumes whose recall the agent's last heartbeat reports armed and guarded: only files
    /// below them may become stubs (a stub anywhere else would read as zeros).
    /// </summary>
    private string[] ArmedVolumes() =>
        _metrics is { RecallSurvivesRestart: true } metrics ? [.. metrics.Volumes.Where(volume => volume.RecallArmed).Select(volume => volume.Path)] : [];

    /// <summary>Why nothing of the host may be tiered now, for the jobs that wait.</summary>
    private string UnarmedReason() =>
        _metrics is null ? "waiting for the agent's first heartbeat to say where recall on open is armed"
        : _metrics.RecallProblem is { Length: > 0 } problem ? "recall on open is not armed on this host: " + problem
        : "recall on open is not armed for these files' volumes: "
          + string.Join("; ", _metrics.Volumes.Where(v => !v.RecallArmed).Select(v => $"{v.Path}: {v.RecallReason}").DefaultIfEmpty("no volume is armed"));

    public async Task<int> DispatchAsync()
    {
        if (!TransferWindows.At(host.State.TransferWindows, host.State.TimeZone, time.GetUtcNow()).Open)
        {
            // Outside the host's transfer windows: jobs wait; the timer tries again.
            return 0;
        }
        if (_observer is not null && _pushedBandwidth != EffectiveBandwidth())
        {
            // A window with a bandwidth of its own began or ended.
            await PushConfigurationAsync();
        }
        var sent = 0;
        var armed = ArmedVolumes();
        var flavor = HostPathFlavor.Of(host.State.Os);
        while (_observer is { } observer && host.State.Exists && host.State.Status != HostStatus.Disabled && armed.Length > 0
               && await jobs.ClaimNextAsync(Id, dispatchOptions.Value.Lease, MaxJobsInFlight) is { } claimed)
        {
            var all = await jobs.OpenFilesAsync(claimed.JobId);
            if (all.Length == 0)
            {
                await jobs.FinishAsync(Id, claimed.JobId, TimeSpan.Zero, null);
                continue;
            }
            // Only files below volumes where recall is armed go out; the others wait in their job (planned), with the reason.
            var files = all.Where(file => flavor.IsWithinAny(file.Path, armed)).ToArray();
            if (files.Length < all.Length)
            {
                LogFilesWaitForRecall(logger, Id, claimed.JobId, all.Length - files.Length);
            }
            if (files.Length == 0)
            {
                await jobs.FinishAsync(Id, claimed.JobId, UnarmedRetry, UnarmedReason());
                continue;
            }
            var target = await grains.GetGrain<ITenantGrain>(claimed.TenantId.ToString()).GetTargetForAgentAsync(claimed.TargetId);
            if (target is null)
            {
                // The target was disabled or removed after planning: the files wait; the next plan re-plans them.
                await jobs.FinishAsync(Id, claimed.JobId, UnavailableRetry, "the job's storage target is disabled or gone");
                LogTargetUnavailable(logger, claimed.JobId, claimed.TargetId);
                return sent;
            }
            // A tenant that encrypts tier 2 gets a data key per object, wrapped by its tenant key (none for a cancelled job: nothing of it is uploaded).
            if (!claimed.Cancelled && await grains.GetGrain<ITenantGrain>(claimed.TenantId.ToString()).IssueDataKeysAsync(files.Length) is { } keys)
            {
                files = [.. files.Select((file, i) => file with { Key = keys[i] })];
            }
            var dispatched = new TierEvent(TierEventKind.Dispatched, $"host:{Id}");
            await ledger.ApplyAsync(Id, [.. files.Select(file => new TierChange(file.TierObjectId, dispatched))], CancellationToken.None);
            try
            {
                await observer.DeliverJobAsync(new TierJobPayload(claimed.JobId, claimed.TenantId, target, files) { Attempt = claimed.Attempt, Cancelled = claimed.Cancelled }).WaitAsync(TimeSpan.FromSeconds(30));
                tieringMetrics.JobSent(host.State.TenantId, Id);
                sent++;
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // The session's gateway is gone: the lease runs out and the job goes to the next session.
                LogDeliveryFailed(logger, exception, $"job {claimed.JobId}", Id);
                _observer = null;
            }
        }
        return sent;
    }

    /// <summary>The bandwidth the agent may use now: the open window's own, else the host's limit; 0 for none.</summary>
    private long EffectiveBandwidth() =>
        TransferWindows.At(host.State.TransferWindows, host.State.TimeZone, time.GetUtcNow()).BytesPerSecond
        ?? host.State.BandwidthLimitBytesPerSecond ?? 0;

    public async Task<string?> RecordJobResultsAsync(string reportId, Guid jobId, TierFileResult[] results, bool finished)
    {
        var (refusal, cancel) = await jobs.CheckReportAsync(Id, jobId, [.. results.Select(result => result.TierObjectId)]);
        if (refusal is not null)
        {
            await RefuseReportAsync("job_result", reportId, refusal);
            return refusal;
        }
        var actor = $"agent:{Id}";
        // Unavailable files stay dispatched; the job is queued again when the agent finishes it, unless an admin cancelled it.
        var unavailable = cancel is null ? results.Count(result => result.Outcome == TierFileOutcome.Unavailable) : 0;
        var reported = results.Where(result => cancel is not null || result.Outcome != TierFileOutcome.Unavailable).ToArray();
        var outcomes = await ledger.ApplyAsync(Id, [.. reported.Select(result => new TierChange(result.TierObjectId,
                (cancel is not null && result.Outcome is TierFileOutcome.Cancelled or TierFileOutcome.Unavailable ? CancelledEvent(result, cancel, actor) : ToEvent(result, actor))
                with { ReportId = reportId }))],
            CancellationToken.None);
        foreach (var (result, outcome) in reported.Zip(outcomes))
        {
            if (outcome.Refusal is { } refused)
            {
                LogResultRefused(logger, result.TierObjectId, refused);
            }
            tieringMetrics.FileReported(host.State.TenantId, Id, result.Outcome, result.Outcome == TierFileOutcome.Stubbed ? outcome.After?.SizeBytes ?? 0 : 0);
        }
        for (var i = 0; i < unavailable; i++)
        {
            tieringMetrics.FileReported(host.State.TenantId, Id, TierFileOutcome.Unavailable, 0);
        }
        if (unavailable > 0)
        {
            // The alert: an error in the log and a failure in the audit trail; the job is retried.
            LogTierTwoUnavailable(logger, Id, jobId, unavailable);
            await audit.RecordAsync(new Audit.AuditEntry(host.State.TenantId, actor, "tier.unavailable", "tiering_job", jobId.ToString(), Succeeded: false,
                new Dictionary<string, object?> { ["hostId"] = Id, ["files"] = unavailable, ["retry"] = "the job is queued again" }));
        }
        FinishedJob? endedJob = null;
        if (finished && cancel is not null)
        {
            await SettleCancelledAsync(jobId, cancel, actor);
        }
        if (finished)
        {
            if (await jobs.FinishAsync(Id, jobId, UnavailableRetry, unavailable > 0 ? "tier 2 was unreachable; the job is retried" : null,
                    ended => JobEndEntry(ended, actor)) is { } ended)
            {
                endedJob = ended;
                ReportJobEnd(ended);
            }
        }
        await live.PublishAsync(host.State.TenantId, LiveEventKinds.JobProgress, LiveAudience.Everyone, new
        {
            hostId = Id,
            jobId,
            reported = results.GroupBy(result => result.Outcome.ToString().ToLowerInvariant()).ToDictionary(group => group.Key, group => group.Count()),
            finished,
            status = endedJob?.Status,
            failedFiles = endedJob?.FailedFiles,
        }, Id);
        if (finished)
        {
            await DispatchAsync();
        }
        if (results.Any(result => result.Outcome == TierFileOutcome.Failed))
        {
            // Failed files come back when their next attempt is due, or are given up after the last.
            await ScheduleRetrySweepAsync();
        }
        return null;
    }

    private static TierEvent ToEvent(TierFileResult result, string actor) => result.Outcome switch
    {
        TierFileOutcome.Stubbed => new TierEvent(TierEventKind.Stubbed, actor, result.Sha256, result.Locator),
        TierFileOutcome.Skipped => new TierEvent(TierEventKind.Skipped, actor, Reason: result.Reason),
        TierFileOutcome.Refused => new TierEvent(TierEventKind.Refused, actor, Reason: result.Reason),
        // Not started for a cancellation the cluster has no record of (it was not asked for here): left for the next plan.
        TierFileOutcome.Cancelled => new TierEvent(TierEventKind.Skipped, actor, Reason: result.Reason),
        _ => new TierEvent(TierEventKind.Failed, actor, result.Sha256, result.Locator, result.Reason),
    };

    public Task RefuseMalformedReportAsync(string kind, string reportId, string reason) =>
        host.State.Exists ? RefuseReportAsync(kind, reportId, reason) : Task.CompletedTask;

    /// <summary>
    /// A path as a refusal names it: whole when it is of a usual length, else its start and its length,
    /// so that an agent's 16 KiB path is not sent back to it and written into the audit log in full.
    /// </summary>
    private static string Cited(string path) => path.Length <= 256 ? path : $"{path[..256]}… ({path.Length} characters)";

    /// <summary>
    /// A report that names what is not this host's is refused whole and nothing of it applied: a
    /// warning in the log, an audit entry in the host's own tenant (with the session's address), a metric.
    /// </summary>
    private async Task RefuseReportAsync(string kind, string reportId, string reason)
    {
        LogReportRefused(logger, Id, kind, reportId, reason);
        tieringMetrics.ReportRefused(host.State.TenantId, Id, kind);
        await audit.RecordAsync(new Audit.AuditEntry(host.State.TenantId, $"agent:{Id}", "agent.report_refused", "host", Id.ToString(), Succeeded: false,
            new Dictionary<string, object?> { ["kind"] = kind, ["reportId"] = reportId, ["reason"] = reason })
        { HostId = Id, Origin = Audit.AuditContext.Origin });
    }

    /// <summary>
    /// A job that ended with failed files is an operator's business: an error in the log, a metric,
    /// and this audit entry, written with the job's end (<see cref="JobRows.FinishAsync"/>); so is
    /// the end of a job an admin cancelled while the agent had it. Null for any other end.
    /// </summary>
    private Audit.AuditEntry? JobEndEntry(FinishedJob ended, string actor) =>
        (ended.FailedFiles == 0 && ended.Status != "cancelled") || ended.Status == "queued"
            ? null
            : new Audit.AuditEntry(host.State.TenantId, actor, "tier.job_" + ended.Status, "tiering_job", ended.JobId.ToString(), Succeeded: ended.Status != "failed",
                new Dictionary<string, object?> { ["hostId"] = Id, ["failedFiles"] = ended.FailedFiles, ["reason"] = ended.LastError })
            {
                HostId = Id,
            };

    private void ReportJobEnd(FinishedJob ended)
    {
        tieringMetrics.JobEnded(host.State.TenantId, Id, ended.Status);
        if (ended.FailedFiles > 0 && ended.Status != "queued")
        {
            LogJobFailures(logger, Id, ended.JobId, ended.Status, ended.LastError ?? "");
        }
    }

    public async Task<string?> RecordRecallsAsync(string reportId, RecallReportItem[] recalls)
    {
        if (!host.State.Exists)
        {
            return "the host no longer exists";
        }
        var flavor = HostPathFlavor.Of(host.State.Os);
        if (recalls.FirstOrDefault(recall => !flavor.IsWithinAny(recall.Path, host.State.Volumes)) is { } outside)
        {
            var refusal = $"{Cited(outside.Path)} is not below any of this host's volumes";
            await RefuseReportAsync("recall_report", reportId, refusal);
            return refusal;
        }
        var known = await tierObjects.FindTierObjectsAsync(host.State.TenantId, Id, [.. recalls.Select(recall => (recall.Path, recall.PathEscaped)).Distinct()]);
        var changes = new List<TierChange>(recalls.Length);
        foreach (var recall in recalls)
        {
            tieringMetrics.Recalled(host.State.TenantId, Id, recall.Succeeded, recall.DurationMs);
            if (!known.TryGetValue((recall.Path, recall.PathEscaped), out var tierObjectId))
            {
                LogUnknownRecall(logger, Id, recall.Path);
                continue;
            }
            changes.Add(new TierChange(tierObjectId, (recall.Succeeded
                ? new TierEvent(TierEventKind.Recalled, $"agent:{Id}", Reason: $"recalled in {recall.DurationMs} ms")
                : new TierEvent(TierEventKind.RecallFailed, $"agent:{Id}", Reason: recall.Failure ?? "the recall failed")) with { ReportId = reportId }));
        }
        foreach (var refused in (await ledger.ApplyAsync(Id, changes, CancellationToken.None)).Where(outcome => !outcome.Applied))
        {
            LogResultRefused(logger, refused.TierObjectId, refused.Refusal!);
        }
        await live.PublishAsync(host.State.TenantId, LiveEventKinds.Recalls, LiveAudience.Everyone, new
        {
            hostId = Id,
            succeeded = recalls.Count(recall => recall.Succeeded),
            failed = recalls.Count(recall => !recall.Succeeded),
            // The first few, as the console shows them; the audit trail has every one.
            recalls = recalls.Take(20).Select(recall => new { path = recall.Path, recall.Succeeded, recall.DurationMs, recall.Failure }),
        }, Id);
        return null;
    }

    /// <summary>Dispatches off the current call (a heartbeat must not wait for a job to go out).</summary>
    private void DispatchInBackground() =>
        this.RegisterGrainTimer(async _ =>
        {
            try
            {
                await DispatchAsync();
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                LogDispatchFailed(logger, exception, Id);
            }
        }, new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = Timeout.InfiniteTimeSpan });

    /// <summary>While a session is live, leases that ran out are noticed and their jobs sent again.</summary>
    private void StartDispatchTimer()
    {
        _dispatchTimer?.Dispose();
        _dispatchTimer = this.RegisterGrainTimer(async _ =>
        {
            try
            {
                await DispatchAsync();
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                LogDispatchFailed(logger, exception, Id);
            }
        }, new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = dispatchOptions.Value.CheckEvery });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId}: a {Kind} report ({ReportId}) was refused: {Reason}")]
    private static partial void LogReportRefused(ILogger logger, Guid hostId, string kind, string reportId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId}: {Files} file(s) of job {JobId} wait: recall on open is not armed for their volume")]
    private static partial void LogFilesWaitForRecall(ILogger logger, Guid hostId, Guid jobId, int files);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId} reported a recall of {Path}, which has no tier object")]
    private static partial void LogUnknownRecall(ILogger logger, Guid hostId, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} waits: its storage target {TargetId} is disabled or gone")]
    private static partial void LogTargetUnavailable(ILogger logger, Guid jobId, Guid targetId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A result for tier object {TierObjectId} was refused: {Reason}")]
    private static partial void LogResultRefused(ILogger logger, long tierObjectId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Host {HostId}: tier 2 was unreachable for {Files} file(s) of job {JobId}; the job stays queued")]
    private static partial void LogTierTwoUnavailable(ILogger logger, Guid hostId, Guid jobId, int files);

    [LoggerMessage(Level = LogLevel.Error, Message = "Host {HostId}: job {JobId} ended {Status}: {Reason}")]
    private static partial void LogJobFailures(ILogger logger, Guid hostId, Guid jobId, string status, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Dispatching jobs of host {HostId} failed; the next tick tries again")]
    private static partial void LogDispatchFailed(ILogger logger, Exception exception, Guid hostId);
}
