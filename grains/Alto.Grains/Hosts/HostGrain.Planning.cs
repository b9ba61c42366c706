using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Planning;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tenants;
using Alto.Grains.Planning;
using Alto.Grains.Rules;
using Microsoft.Extensions.Logging;

namespace Alto.Grains.Hosts;

/// <summary>
/// Planning of the host's inventory: on request, after each completed scan, and on a reminder.
/// The work runs off the grain's scheduler and interleaves with session traffic (heartbeats keep
/// flowing during a long plan); a chain keeps real plans of this host one at a time.
/// </summary>
public sealed partial class HostGrain
{
    private const string PlanReminder = "plan";
    // The last real plan started; each waits for the one before (the grain scheduler is single-threaded).
    private Task _lastRealPlan = Task.CompletedTask;
    private DateTimeOffset? _lastPlannedAt;

    public async Task<CommandResult<PlanSummary>> PlanAsync(bool dryRun)
    {
        if (!host.State.Exists)
        {
            return CommandResult<PlanSummary>.NotFound($"host {Id} not found");
        }
        if (host.State.Status == HostStatus.Disabled)
        {
            return CommandResult<PlanSummary>.Conflict($"host {Id} is disabled");
        }
        var tenant = grains.GetGrain<ITenantGrain>(host.State.TenantId.ToString());
        var rules = await tenant.ListRulesAsync() ?? [];
        var targets = await tenant.ListTargetsAsync();
        var policy = await tenant.GetAsync();

        if (dryRun)
        {
            var preview = PlanInputNow(rules, targets, policy);
            return CommandResult<PlanSummary>.Ok(await Task.Run(() => planner.PlanAsync(preview, dryRun: true, CancellationToken.None)));
        }
        var previous = _lastRealPlan;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _lastRealPlan = done.Task;
        try
        {
            await previous;
            var input = PlanInputNow(rules, targets, policy);
            var summary = await Task.Run(() => planner.PlanAsync(input, dryRun: false, CancellationToken.None));
            // Kept in memory, not in the grain's state: a plan interleaves with the session's calls,
            // and only those write the state (two writers at once would race on it).
            _lastPlannedAt = input.Now;
            if (_observer is not null)
            {
                await DispatchAsync();
            }
            return CommandResult<PlanSummary>.Ok(summary);
        }
        finally
        {
            done.SetResult();
        }
    }

    public async Task<AuditUpdateOutcome> ApplyAuditUpdatesAsync(Guid batchId)
    {
        // Batches staged by a call that failed before applying them go first, in the order they came.
        foreach (var pending in (await auditUpdates.PendingBatchesAsync(Id, CancellationToken.None)).Where(id => id != batchId))
        {
            await auditUpdates.ApplyAsync(pending, Id, CancellationToken.None);
        }
        var outcome = await auditUpdates.ApplyAsync(batchId, Id, CancellationToken.None);
        if (outcome.Unknown > 0)
        {
            LogUnknownAuditPaths(logger, Id, batchId, outcome.Unknown);
        }
        if (outcome.AlreadyApplied || !host.State.Exists)
        {
            return outcome;
        }
        if (outcome.Applied > 0)
        {
            // Warm files leave their jobs (and deleted or moved ones are re-planned) before anything is dispatched.
            await PlanAsync(dryRun: false);
        }
        if (outcome.Warmed > 0 && (await grains.GetGrain<ITenantGrain>(host.State.TenantId.ToString()).GetAsync())?.RecallAfterReads is { } reads
            && await auditUpdates.FlagForRecallAsync(Id, reads, CancellationToken.None) is { Length: > 0 } hot)
        {
            // Stubs read that often elsewhere in the filespace come back to tier 1, per the tenant's policy.
            var recall = await RequestRecallAsync(new RecallSelection(hot, null, null));
            await audit.RecordAsync(host.State.TenantId, "tier.recall_flagged", "host", Id.ToString(), null, null, new Dictionary<string, object?>
            {
                ["reason"] = $"read at least {reads} times in the audit trail",
                ["paths"] = hot.Take(100).ToArray(),
                ["files"] = hot.Length,
                ["queued"] = recall.Value?.Files,
            }, hostId: Id);
        }
        return outcome;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId}: {Count} path(s) of audit-update batch {BatchId} are not in the inventory (not scanned yet, or outside its volumes)")]
    private static partial void LogUnknownAuditPaths(ILogger logger, Guid hostId, Guid batchId, int count);

    public async Task<CommandResult<HostInfo>> SetBandwidthLimitAsync(long? bytesPerSecond)
    {
        if (!host.State.Exists)
        {
            return CommandResult<HostInfo>.NotFound($"host {Id} not found");
        }
        if (bytesPerSecond is <= 0)
        {
            return CommandResult<HostInfo>.Invalid("bandwidthLimitBytesPerSecond", "bandwidthLimitBytesPerSecond must be positive, or null for no limit");
        }
        await AuditedChangeAsync("host.bandwidth_changed", state =>
        {
            state.BandwidthLimitBytesPerSecond = bytesPerSecond;
            state.UpdatedAt = time.GetUtcNow();
        });
        await PushConfigurationAsync();
        return CommandResult<HostInfo>.Ok(ToInfo());
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != PlanReminder)
        {
            return;
        }
        if (!host.State.Exists)
        {
            // The host is gone: nothing to plan, ever again.
            if (await this.GetReminder(PlanReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }
            return;
        }
        // Hybrid mode: a LucidLink host's trail keeps access times fresh; a full scan now and then catches the rest.
        // One scan request at a time: an agent away for days does not come back to a pile of them.
        if (host.State.LucidLink is { } lucid && lucid.FullScanDue(host.State.LastScanAt, time.GetUtcNow())
            && !host.State.PendingCommands.Exists(command => command.Kind == AgentCommandKind.Scan))
        {
            await RequestScanAsync([], "csv");
        }
        // Retries due while no timer of this activation waited for them (a restarted silo) are found here too.
        await SweepRetriesAsync();
        PlanInBackground("schedule");
    }

    /// <summary>Registers the periodic plan once; re-registering would rewrite the reminder row on every scan.</summary>
    private async Task EnsurePlanScheduleAsync()
    {
        if (await this.GetReminder(PlanReminder) is null)
        {
            var interval = plannerOptions.Value.Interval;
            await this.RegisterOrUpdateReminder(PlanReminder, interval, interval);
        }
    }

    /// <summary>Plans for real without holding the caller; a failure is logged and the next trigger tries again.</summary>
    private void PlanInBackground(string trigger)
    {
        this.RegisterGrainTimer(async _ =>
        {
            try
            {
                if (await PlanAsync(dryRun: false) is { Error: { } refused })
                {
                    LogPlanRefused(logger, Id, trigger, refused.Message);
                }
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                LogPlanFailed(logger, exception, Id, trigger);
            }
        }, new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = Timeout.InfiniteTimeSpan, Interleave = true });
    }

    private PlanInput PlanInputNow(RuleInfo[] rules, StorageTargetInfo[] targets, TenantInfo? policy) => new(
        host.State.TenantId, Id, HostPathFlavor.Of(host.State.Os), rules, targets,
        host.State.BandwidthLimitBytesPerSecond ?? PlanInput.AssumedBytesPerSecond, time.GetUtcNow())
    {
        Volumes = host.State.Volumes,
        MinTierableBytes = policy?.MinTierableBytes ?? TenantDefaults.MinTierableBytes,
        Approval = policy?.PlanApproval ?? TenantDefaults.NewTenantPlanApproval,
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "Planning host {HostId} ({Trigger}) failed; the next scan or schedule tries again")]
    private static partial void LogPlanFailed(ILogger logger, Exception exception, Guid hostId, string trigger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Host {HostId} was not planned ({Trigger}): {Reason}")]
    private static partial void LogPlanRefused(ILogger logger, Guid hostId, string trigger, string reason);
}
