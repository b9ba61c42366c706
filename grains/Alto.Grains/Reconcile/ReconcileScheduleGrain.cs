using Alto.Audit;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Reconcile;
using Microsoft.Extensions.Logging;

namespace Alto.Grains.Reconcile;

/// <summary>
/// A target's reconciliation schedule (see <see cref="IReconcileScheduleGrain"/>): the row says
/// what, an Orleans reminder (persisted in PostgreSQL, so it outlives every silo) says when.
/// </summary>
public sealed partial class ReconcileScheduleGrain(
    ReconcileSchedules schedules,
    ReconcileRuns runs,
    ReconcileMetrics metrics,
    IGrainFactory grains,
    TimeProvider time,
    ILogger<ReconcileScheduleGrain> logger) : Grain, IReconcileScheduleGrain, IRemindable
{
    public const string Reminder = "reconcile";
    public const string ScheduleActor = "schedule";

    private Guid TargetId => this.GetPrimaryKey();

    public async Task<CommandResult<ReconcileScheduleInfo>> SetAsync(Guid tenantId, ReconcileSchedule schedule, string actor, string[]? ifMatch = null)
    {
        if (schedule.EveryHours is < 1 or > ReconcileSchedule.MaxEveryHours)
        {
            return CommandResult<ReconcileScheduleInfo>.Invalid("everyHours", $"everyHours must be 1 to {ReconcileSchedule.MaxEveryHours}");
        }
        if (schedule.SamplePercent is < 1 or > 100)
        {
            return CommandResult<ReconcileScheduleInfo>.Invalid("samplePercent", "samplePercent must be 1 to 100");
        }
        if (schedule.RequestsPerSecond is < 1 or > 100_000)
        {
            return CommandResult<ReconcileScheduleInfo>.Invalid("requestsPerSecond", "requestsPerSecond must be 1 to 100000");
        }
        if (!await runs.TargetIsTenantsAsync(tenantId, TargetId))
        {
            return CommandResult<ReconcileScheduleInfo>.NotFound($"storage target {TargetId} not found (or disabled)");
        }
        var before = await schedules.ReadAsync(TargetId);
        if (StaleAgainst(before?.Info, ifMatch) is { } stale)
        {
            return CommandResult<ReconcileScheduleInfo>.Stale(stale);
        }
        var period = TimeSpan.FromHours(schedule.EveryHours);
        // The reminder first: should the row not follow, a tick reads the schedule stored before, or none and forgets itself.
        await this.RegisterOrUpdateReminder(Reminder, period, period);
        await schedules.UpsertAsync(TargetId, tenantId, schedule, time.GetUtcNow(),
            new AuditEntry(tenantId, actor, "reconcile.scheduled", "storage_target", TargetId.ToString(), Succeeded: true,
                new Dictionary<string, object?> { ["before"] = before?.Info.Schedule, ["after"] = schedule }) { Origin = AuditContext.Origin });
        return CommandResult<ReconcileScheduleInfo>.Ok((await schedules.ReadAsync(TargetId))!.Value.Info);
    }

    public async Task<CommandResult<bool>> ClearAsync(Guid tenantId, string actor, string[]? ifMatch = null)
    {
        if (await schedules.ReadAsync(TargetId) is not { } current || current.TenantId != tenantId)
        {
            // Removing a schedule that is not there is done already; another tenant's target is not found.
            return !await runs.TargetIsTenantsAsync(tenantId, TargetId) ? CommandResult<bool>.NotFound($"storage target {TargetId} not found (or disabled)")
                : StaleAgainst(null, ifMatch) is { } gone ? CommandResult<bool>.Stale(gone)
                : CommandResult<bool>.Ok(false);
        }
        if (StaleAgainst(current.Info, ifMatch) is { } stale)
        {
            return CommandResult<bool>.Stale(stale);
        }
        await schedules.DeleteAsync(TargetId, new AuditEntry(tenantId, actor, "reconcile.unscheduled", "storage_target", TargetId.ToString(), Succeeded: true,
            new Dictionary<string, object?> { ["before"] = current.Info.Schedule, ["after"] = null }) { Origin = AuditContext.Origin });
        try
        {
            await ForgetReminderAsync();
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // The schedule is gone: the reminder's next tick finds none and forgets itself.
            LogReminderKept(logger, exception, TargetId);
        }
        return CommandResult<bool>.Ok(true);
    }

    /// <summary>
    /// Why a change made from a read at one of <paramref name="expected"/> is refused, or null: the
    /// revision is of the settings alone (the last tick moves by itself), and a target with no
    /// schedule is at no revision.
    /// </summary>
    private string? StaleAgainst(ReconcileScheduleInfo? current, string[]? expected) =>
        expected is null ? null
        : current is null ? $"storage target {TargetId} has no reconciliation schedule now (another admin removed it since it was read); nothing was changed"
        : Revision.Stale(current.Schedule, expected, $"the reconciliation schedule of storage target {TargetId}");

    public async Task<ReconcileScheduleInfo?> GetAsync(Guid tenantId) =>
        await schedules.ReadAsync(TargetId) is { } current && current.TenantId == tenantId ? current.Info : null;

    /// <summary>A tick: a run with the schedule's settings, or (a run still going, no agent online) none, and why.</summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (await schedules.ReadAsync(TargetId) is not { } current)
        {
            await ForgetReminderAsync();
            return;
        }
        var schedule = current.Info.Schedule;
        var runId = Guid.NewGuid();
        var started = await grains.GetGrain<IReconcileRunGrain>(runId).StartAsync(current.TenantId,
            new ReconcileOrder(TargetId, schedule.Depth, schedule.SamplePercent, schedule.RequestsPerSecond, ScheduleActor));
        if (started.Error is { } error)
        {
            metrics.Run(current.TenantId, "skipped");
            LogSkipped(logger, TargetId, error.Message);
            await schedules.RecordTickAsync(TargetId, null, "skipped: " + error.Message, time.GetUtcNow());
            return;
        }
        await schedules.RecordTickAsync(TargetId, runId, $"started run {runId}", time.GetUtcNow());
    }

    private async Task ForgetReminderAsync()
    {
        if (await this.GetReminder(Reminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The reconciliation schedule of target {TargetId} was removed, but not its reminder; its next tick forgets it")]
    private static partial void LogReminderKept(ILogger logger, Exception exception, Guid targetId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The scheduled reconciliation of target {TargetId} did not start: {Reason}")]
    private static partial void LogSkipped(ILogger logger, Guid targetId, string reason);
}
