using Alto.GrainInterfaces.Common;

namespace Alto.GrainInterfaces.Reconcile;

/// <summary>
/// The reconciliation schedule of one storage target (keyed by the target's id): a reminder that
/// starts a run every so often. A tick while a run of the target is still going is skipped and
/// says so. Kept in alto.reconcile_schedule.
/// </summary>
[Alias("Alto.IReconcileScheduleGrain")]
public interface IReconcileScheduleGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Sets (or replaces) the schedule of the tenant's target; the first run starts one period from
    /// now. With <paramref name="ifMatch"/>, only while the schedule's settings are at one of those
    /// revisions (<see cref="ReconcileScheduleInfo.Schedule"/>; a target without one is at none).
    /// </summary>
    [Alias("SetAsync")]
    Task<CommandResult<ReconcileScheduleInfo>> SetAsync(Guid tenantId, ReconcileSchedule schedule, string actor, string[]? ifMatch = null);

    /// <summary>
    /// Removes the schedule: true when there was one, false when there was none; not found for
    /// another tenant's target. With <paramref name="ifMatch"/>, as <see cref="SetAsync"/>.
    /// </summary>
    [Alias("ClearAsync")]
    Task<CommandResult<bool>> ClearAsync(Guid tenantId, string actor, string[]? ifMatch = null);

    [Alias("GetAsync")]
    Task<ReconcileScheduleInfo?> GetAsync(Guid tenantId);
}
