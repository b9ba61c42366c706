using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Planning;
using Alto.GrainInterfaces.Tenants;
using Alto.Audit;
using Alto.Grains.Trail;
using Alto.Grains.Planning;
using Alto.Rules;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Alto.Grains.Hosts;

/// <summary>
/// A host's inventory work, one piece at a time (the grain is not reentrant): plans on request,
/// and the requested work — staged trail batches applied, then a plan — in a one-shot timer that
/// every request made meanwhile joins. It reads the host through <see cref="IHostGrain.GetAsync"/>
/// (which interleaves) and tells it about a finished plan one way, so neither grain ever waits on
/// the other in a cycle. Work cut short by an outage (the database or the cluster out of reach, a
/// statement cancelled) is tried again by the grain itself, after a wait that grows while it keeps failing.
/// </summary>
public sealed partial class HostInventoryGrain(
    HostPlanner planner,
    PlannerMetrics metrics,
    TrailUpdateApplier trail,
    TrailBacklog backlog,
    TrailSlots trailSlots,
    IOptions<TrailOptions> trailOptions,
    AdminAudit audit,
    Live.LivePublisher live,
    TimeProvider time,
    ILogger<HostInventoryGrain> logger) : Grain, IHostInventoryGrain
{
    private IGrainTimer? _work;
    private int _failuresInARow;
    private string? _planTrigger;
    private Guid? _tenantId;

    private Guid Id => Guid.Parse(this.GetPrimaryKeyString());

    private IHostGrain Host => GrainFactory.GetGrain<IHostGrain>(this.GetPrimaryKeyString());

    public async Task<CommandResult<PlanSummary>> PlanAsync(bool dryRun)
    {
        if (await Host.GetAsync() is not { } host)
        {
            return CommandResult<PlanSummary>.NotFound($"host {Id} not found");
        }
        var tenant = GrainFactory.GetGrain<ITenantGrain>(host.TenantId.ToString());
        if (await tenant.GetAsync() is not { } tenantInfo)
        {
            return CommandResult<PlanSummary>.NotFound($"tenant {host.TenantId} not found");
        }
        var policy = new TenantPlanPolicy(await tenant.ListRulesAsync() ?? [], await tenant.ListTargetsAsync(), tenantInfo);
        return await PlanAsync(host, dryRun, policy);
    }

    public async Task<CommandResult<PlanSummary>> PlanWithAsync(bool dryRun, TenantPlanPolicy policy) =>
        await Host.GetAsync() is { } host && host.TenantId == policy.Tenant.Id
            ? await PlanAsync(host, dryRun, policy)
            : CommandResult<PlanSummary>.NotFound($"host {Id} not found");

    private async Task<CommandResult<PlanSummary>> PlanAsync(HostInfo host, bool dryRun, TenantPlanPolicy policy)
    {
        if (host.Status == HostStatus.Disabled)
        {
            return CommandResult<PlanSummary>.Conflict($"host {Id} is disabled");
        }
        var input = new PlanInput(
            host.TenantId, Id, HostPathFlavor.Of(host.Os), policy.Rules, policy.Targets,
            host.BandwidthLimitBytesPerSecond ?? PlanInput.AssumedBytesPerSecond, time.GetUtcNow())
        {
            Volumes = host.Volumes,
            MinTierableBytes = policy.Tenant.MinTierableBytes,
            Approval = policy.Tenant.PlanApproval,
        };
        // Off the grain's scheduler: a large inventory's plan is CPU work the silo's other grains should not wait behind.
        var summary = await Task.Run(() => planner.PlanAsync(input, dryRun, CancellationToken.None));
        if (!dryRun)
        {
            await Host.PlanCompletedAsync(input.Now);
            await PublishPlanAsync(summary, policy.Tenant.PlanApproval);
        }
        return CommandResult<PlanSummary>.Ok(summary);
    }

    /// <summary>A plan's outcome for everyone who sees the tenant; new jobs that wait for approval for its admins.</summary>
    private async Task PublishPlanAsync(PlanSummary summary, PlanApproval approval)
    {
        await live.PublishAsync(summary.TenantId, GrainInterfaces.Live.LiveEventKinds.PlanCompleted, GrainInterfaces.Live.LiveAudience.Everyone, new
        {
            hostId = Id, summary.FilesEvaluated, summary.FilesToTier, summary.BytesToTier, summary.Changes, summary.Seconds,
        }, Id);
        if (approval == PlanApproval.Manual && summary.Changes is { JobsCreated: > 0 } changes)
        {
            await live.PublishAsync(summary.TenantId, GrainInterfaces.Live.LiveEventKinds.ApprovalNeeded, GrainInterfaces.Live.LiveAudience.Managers, new
            {
                hostId = Id, jobsCreated = changes.JobsCreated, summary.FilesToTier, summary.BytesToTier,
            }, Id);
        }
    }

    public Task RequestPlanAsync(string trigger)
    {
        _planTrigger ??= trigger;
        ScheduleWork();
        return Task.CompletedTask;
    }

    public Task TrailUpdatesStagedAsync()
    {
        ScheduleWork();
        return Task.CompletedTask;
    }

    /// <summary>
    /// One timer for all the work asked for until it fires; requests that come while it runs set the
    /// next one, and requests while a retry waits join that retry. A retry keeps the grain active,
    /// so staged batches are not left for whatever request comes next.
    /// </summary>
    private void ScheduleWork(TimeSpan? after = null) =>
        _work ??= this.RegisterGrainTimer(DoRequestedWorkAsync,
            new GrainTimerCreationOptions(after ?? TimeSpan.Zero, Timeout.InfiniteTimeSpan) { KeepAlive = after is not null });

    private async Task DoRequestedWorkAsync(CancellationToken _)
    {
        // Requests from now on set a new timer; this one-shot timer is disposed when its work is done
        // (disposing it now would cancel the work under way).
        using var firing = _work;
        _work = null;
        var trigger = _planTrigger;
        _planTrigger = null;
        try
        {
            // Staged trail batches always go first: a plan must see the accesses the trail reported.
            var applied = await ApplyStagedTrailAsync(CancellationToken.None);
            if (applied.Applied > 0)
            {
                trigger ??= "trail updates";
            }
            if (trigger is not null && await PlanAsync(dryRun: false) is { Error: { } refused })
            {
                LogPlanRefused(logger, Id, trigger, refused.Message);
            }
            if (applied.Warmed > 0)
            {
                await RecallWhatIsReadOftenAsync(CancellationToken.None);
            }
            _failuresInARow = 0;
        }
        catch (Exception exception) when (DatabaseOutage.Is(exception) || exception is OrleansException)
        {
            // An outage (the database, the cluster): the staged batches stay pending, and the grain
            // tries again by itself — the plan too, if one was asked for.
            _failuresInARow++;
            _planTrigger ??= trigger;
            var wait = trailOptions.Value.RetryWait(_failuresInARow);
            metrics.InventoryWorkFailed(await TenantIdAsync());
            LogOutage(logger, exception, Id, trigger ?? "trail updates", _failuresInARow, wait);
            ScheduleWork(wait);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // Not the moment's failure: trying again at once would fail again, so the next request, scan or schedule does.
            metrics.InventoryWorkFailed(await TenantIdAsync());
            LogWorkFailed(logger, exception, Id, trigger ?? "trail updates");
        }
    }

    /// <summary>The host's tenant, for the metrics' label: asked of the host grain once, then remembered (empty if it cannot be asked now).</summary>
    private async Task<Guid> TenantIdAsync()
    {
        try
        {
            _tenantId ??= (await Host.GetAsync())?.TenantId;
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            LogTenantUnknown(logger, exception, Id);
        }
        return _tenantId ?? Guid.Empty;
    }

    /// <summary>Applies every batch staged for the host, in the order they came (reads side by side); the sums of what they did.</summary>
    private async Task<TrailUpdateOutcome> ApplyStagedTrailAsync(CancellationToken cancellationToken)
    {
        var (applied, warmed) = (0, 0);
        await backlog.ApplyAsync(Id, async batchId =>
        {
            TrailUpdateOutcome outcome;
            try
            {
                using (await trailSlots.TakeAsync(cancellationToken))
                {
                    outcome = await trail.ApplyAsync(batchId, Id, cancellationToken);
                }
            }
            catch (PostgresException refused) when (!DatabaseOutage.Is(refused))
            {
                // The database refuses what was staged (not an outage): tried again it would fail again and hold
                // every later batch back, so it is set aside — failed in the audit log, counted, and logged.
                await trail.MarkFailedAsync(batchId, Id, refused.MessageText, cancellationToken);
                metrics.TrailBatchFailed(await TenantIdAsync());
                LogTrailBatchFailed(logger, refused, Id, batchId);
                return;
            }
            if (outcome.Unknown > 0)
            {
                LogUnknownTrailPaths(logger, Id, batchId, outcome.Unknown);
            }
            // Batches applied side by side report in the grain's own turns, one at a time.
            applied += outcome.Applied;
            warmed += outcome.Warmed;
        }, cancellationToken);
        return new TrailUpdateOutcome(applied, 0, 0, warmed, AlreadyApplied: false);
    }

    /// <summary>Stubs read that often elsewhere in the filespace come back to tier 1, per the tenant's policy.</summary>
    private async Task RecallWhatIsReadOftenAsync(CancellationToken cancellationToken)
    {
        if (await Host.GetAsync() is not { } host
            || (await GrainFactory.GetGrain<ITenantGrain>(host.TenantId.ToString()).GetAsync())?.RecallAfterReads is not { } reads
            || await trail.FlagForRecallAsync(Id, reads, cancellationToken) is not { Length: > 0 } hot)
        {
            return;
        }
        var recall = await Host.RequestRecallAsync(new RecallSelection(hot, null, null));
        await audit.RecordAsync(host.TenantId, "tier.recall_flagged", "host", Id.ToString(), null, null, new Dictionary<string, object?>
        {
            ["reason"] = $"read at least {reads} times in the LucidLink trail",
            ["paths"] = hot.Take(100).ToArray(),
            ["files"] = hot.Length,
            ["queued"] = recall.Value?.Files,
        }, hostId: Id);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId}: {Count} path(s) of trail-update batch {BatchId} are not in the inventory (not scanned yet, or outside its volumes)")]
    private static partial void LogUnknownTrailPaths(ILogger logger, Guid hostId, Guid batchId, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Host {HostId}: trail-update batch {BatchId} cannot be applied and is set aside; later batches go on")]
    private static partial void LogTrailBatchFailed(ILogger logger, Exception exception, Guid hostId, Guid batchId);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Inventory work of host {HostId} ({Trigger}) failed for an outage ({Failures} time(s) in a row); its staged trail batches stay pending and it tries again in {Wait}")]
    private static partial void LogOutage(ILogger logger, Exception exception, Guid hostId, string trigger, int failures, TimeSpan wait);

    [LoggerMessage(Level = LogLevel.Error, Message = "Inventory work of host {HostId} ({Trigger}) failed; the next scan, trail batch or schedule tries again")]
    private static partial void LogWorkFailed(ILogger logger, Exception exception, Guid hostId, string trigger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId}: its tenant could not be read for a metric's label; counted under the empty tenant")]
    private static partial void LogTenantUnknown(ILogger logger, Exception exception, Guid hostId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Host {HostId} was not planned ({Trigger}): {Reason}")]
    private static partial void LogPlanRefused(ILogger logger, Guid hostId, string trigger, string reason);
}
