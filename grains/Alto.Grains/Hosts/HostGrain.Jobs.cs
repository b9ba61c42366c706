using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tenants;
using Alto.GrainInterfaces.Tiers;
using Microsoft.Extensions.Logging;

namespace Alto.Grains.Hosts;

/// <summary>
/// Dispatch: queued jobs go down the agent's stream while it is online, one at a time; a job not
/// finished within its lease is sent again (the agent handles a repeat idempotently), and jobs
/// live in alto.tiering_job, so they survive any restart. Results move each file's tier object
/// through its grain.
/// </summary>
public sealed partial class HostGrain
{
    public const int MaxJobsInFlight = 1;
    private static readonly TimeSpan UnavailableRetry = TimeSpan.FromMinutes(1);
    private const int GrainCallsAtOnce = 32;

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
        while (_observer is { } observer && host.State.Exists && host.State.Status != HostStatus.Disabled
               && await jobs.ClaimNextAsync(Id, dispatchOptions.Value.Lease, MaxJobsInFlight) is { } claimed)
        {
            var files = await jobs.OpenFilesAsync(claimed.JobId);
            if (files.Length == 0)
            {
                await jobs.FinishAsync(claimed.JobId, TimeSpan.Zero, null);
                continue;
            }
            var target = await grains.GetGrain<ITenantGrain>(claimed.TenantId.ToString()).GetTargetForAgentAsync(claimed.TargetId);
            if (target is null)
            {
                // The target was disabled or removed after planning: the files wait; the next plan re-plans them.
                await jobs.FinishAsync(claimed.JobId, UnavailableRetry, "the job's storage target is disabled or gone");
                LogTargetUnavailable(logger, claimed.JobId, claimed.TargetId);
                return sent;
            }
            // A tenant that encrypts tier 2 gets a data key per object, wrapped by its tenant key.
            if (await grains.GetGrain<ITenantGrain>(claimed.TenantId.ToString()).IssueDataKeysAsync(files.Length) is { } keys)
            {
                files = [.. files.Select((file, i) => file with { Key = keys[i] })];
            }
            await ForEachTierObjectAsync(files.Select(file => file.TierObjectId), new TierEvent(TierEventKind.Dispatched, $"host:{Id}"));
            try
            {
                await observer.DeliverJobAsync(new TierJobPayload(claimed.JobId, claimed.TenantId, target, files)).WaitAsync(TimeSpan.FromSeconds(30));
                tieringMetrics.JobSent();
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

    public async Task<CommandResult<HostInfo>> SetTransferWindowsAsync(TransferWindow[] windows, string timeZone)
    {
        if (!host.State.Exists)
        {
            return CommandResult<HostInfo>.NotFound($"host {Id} not found");
        }
        if (!TransferWindows.IsTimeZone(timeZone))
        {
            return CommandResult<HostInfo>.Invalid("timeZone", $"'{timeZone}' is not a time zone (IANA names such as Europe/Berlin, or UTC)");
        }
        for (var i = 0; i < windows.Length; i++)
        {
            if (TransferWindows.Problem(windows[i]) is { } problem)
            {
                return CommandResult<HostInfo>.Invalid($"transferWindows[{i}]", problem);
            }
        }
        await AuditedChangeAsync("host.transfer_windows_changed", state =>
        {
            state.TransferWindows = windows;
            state.TimeZone = timeZone;
            state.UpdatedAt = time.GetUtcNow();
        });
        await PushConfigurationAsync();
        return CommandResult<HostInfo>.Ok(ToInfo());
    }

    /// <summary>The bandwidth the agent may use now: the open window's own, else the host's limit; 0 for none.</summary>
    private long EffectiveBandwidth() =>
        TransferWindows.At(host.State.TransferWindows, host.State.TimeZone, time.GetUtcNow()).BytesPerSecond
        ?? host.State.BandwidthLimitBytesPerSecond ?? 0;

    public async Task RecordJobResultsAsync(Guid sessionId, Guid jobId, TierFileResult[] results, bool finished)
    {
        var actor = $"agent:{Id}";
        var unavailable = 0;
        foreach (var batch in results.Chunk(GrainCallsAtOnce))
        {
            await Task.WhenAll(batch.Select(async result =>
            {
                if (result.Outcome == TierFileOutcome.Unavailable)
                {
                    tieringMetrics.FileReported(result.Outcome, 0);
                    // The file stays dispatched; the job is queued again when the agent finishes it.
                    Interlocked.Increment(ref unavailable);
                    return;
                }
                var change = result.Outcome switch
                {
                    TierFileOutcome.Stubbed => new TierEvent(TierEventKind.Stubbed, actor, result.Sha256, result.Locator),
                    TierFileOutcome.Skipped => new TierEvent(TierEventKind.Skipped, actor, Reason: result.Reason),
                    _ => new TierEvent(TierEventKind.Failed, actor, result.Sha256, result.Locator, result.Reason),
                };
                var applied = await grains.GetGrain<ITierObjectGrain>(result.TierObjectId).ApplyAsync(change);
                if (applied.Error is { } refused)
                {
                    LogResultRefused(logger, result.TierObjectId, refused.Message);
                }
                tieringMetrics.FileReported(result.Outcome, result.Outcome == TierFileOutcome.Stubbed ? applied.Value?.SizeBytes ?? 0 : 0);
            }));
        }
        if (unavailable > 0)
        {
            // The alert: an error in the log and a failure in the audit trail; the job is retried.
            LogTierTwoUnavailable(logger, Id, jobId, unavailable);
            await jobs.AuditAsync(new Audit.AuditEntry(host.State.TenantId, actor, "tier.unavailable", "tiering_job", jobId.ToString(), Succeeded: false,
                new Dictionary<string, object?> { ["hostId"] = Id, ["files"] = unavailable, ["retry"] = "the job is queued again" }));
        }
        if (finished)
        {
            if (await jobs.FinishAsync(jobId, UnavailableRetry, unavailable > 0 ? "tier 2 was unreachable; the job is retried" : null) is { } ended)
            {
                await ReportJobEndAsync(ended, actor);
            }
            await DispatchAsync();
        }
    }

    /// <summary>A job that ended with failed files is an operator's business: an error in the log, an audit entry, a metric.</summary>
    private async Task ReportJobEndAsync(FinishedJob ended, string actor)
    {
        tieringMetrics.JobEnded(ended.Status);
        if (ended.FailedFiles == 0 || ended.Status == "queued")
        {
            return;
        }
        LogJobFailures(logger, Id, ended.JobId, ended.Status, ended.LastError ?? "");
        await jobs.AuditAsync(new Audit.AuditEntry(host.State.TenantId, actor, "tier.job_" + ended.Status, "tiering_job", ended.JobId.ToString(),
            Succeeded: ended.Status != "failed",
            new Dictionary<string, object?> { ["hostId"] = Id, ["failedFiles"] = ended.FailedFiles, ["reason"] = ended.LastError })
        { HostId = Id });
    }

    public async Task RecordRecallAsync(string path, bool succeeded, long durationMs, string? failure)
    {
        if (!host.State.Exists || await jobs.FindTierObjectAsync(host.State.TenantId, Id, path) is not { } found)
        {
            LogUnknownRecall(logger, Id, path);
            return;
        }
        var change = succeeded
            ? new TierEvent(TierEventKind.Recalled, $"agent:{Id}", Reason: $"recalled on access in {durationMs} ms")
            : new TierEvent(TierEventKind.RecallFailed, $"agent:{Id}", Reason: failure ?? "the recall failed");
        var applied = await grains.GetGrain<ITierObjectGrain>(found.TierObjectId).ApplyAsync(change);
        tieringMetrics.Recalled(succeeded, durationMs);
        if (applied.Error is { } refused)
        {
            LogResultRefused(logger, found.TierObjectId, refused.Message);
        }
        else if (succeeded)
        {
            await jobs.MarkRecalledAsync(found.FileCurrentId);
        }
    }

    private async Task ForEachTierObjectAsync(IEnumerable<long> ids, TierEvent change)
    {
        foreach (var batch in ids.Chunk(GrainCallsAtOnce))
        {
            await Task.WhenAll(batch.Select(id => grains.GetGrain<ITierObjectGrain>(id).ApplyAsync(change)));
        }
    }

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
