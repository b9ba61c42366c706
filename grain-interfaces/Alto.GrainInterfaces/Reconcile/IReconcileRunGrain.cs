using Alto.GrainInterfaces.Common;

namespace Alto.GrainInterfaces.Reconcile;

/// <summary>
/// One reconciliation run of a storage target (keyed by the run's id): started here, listed by
/// an agent of the tenant part by part, and classified against the tier-object records when the
/// listing ends. Its state lives in alto.reconcile_run, so a run outlives any silo.
/// </summary>
[Alias("Alto.IReconcileRunGrain")]
public interface IReconcileRunGrain : IGrainWithGuidKey
{
    /// <summary>Starts the run on the tenant's target: refused when the target is not the tenant's, another run lists it, or no agent of the tenant is online.</summary>
    [Alias("StartAsync")]
    Task<CommandResult<ReconcileRunInfo>> StartAsync(Guid tenantId, ReconcileOrder order);

    /// <summary>The run for the agent that lists it; not found for any other host or tenant.</summary>
    [Alias("GetForAgentAsync")]
    Task<CommandResult<ReconcileRunInfo>> GetForAgentAsync(Guid tenantId, Guid hostId);

    /// <summary>
    /// Ends a run still listing as failed with <paramref name="reason"/>: its agent
    /// (<paramref name="hostId"/>) gave up, or (null) a new run found it silent for too long.
    /// </summary>
    [Alias("AbandonAsync")]
    Task AbandonAsync(Guid? hostId, string reason);

    /// <summary>
    /// Ends a run still going as cancelled by <paramref name="actor"/> (its audit entry with the
    /// end, in one transaction): its agent stops listing at its next part, and orphans not yet
    /// deleted are kept. Not found for another tenant's run; a conflict for a run already over.
    /// </summary>
    [Alias("CancelAsync")]
    Task<CommandResult<ReconcileRunInfo>> CancelAsync(Guid tenantId, string actor);

    /// <summary>
    /// The census's escaped names of <paramref name="hostId"/> cannot be asked of its agent after all
    /// (it came back as a version that does not read them, <paramref name="reason"/>): they are
    /// counted unchecked, and the run goes on without them. One-way: the host grain calls it while
    /// opening a session, and the run may be waiting on that host grain just then (queuing its census).
    /// </summary>
    [Alias("LeaveEscapedUncheckedAsync"), Orleans.Concurrency.OneWay]
    Task LeaveEscapedUncheckedAsync(Guid hostId, string reason);

    /// <summary>Takes what a host's agent found at paths the census asked it about (anything else is not found or refused).</summary>
    [Alias("RecordCensusAsync")]
    Task<CommandResult<CensusReceipt>> RecordCensusAsync(Guid tenantId, Guid hostId, StubFact[] facts);

    /// <summary>The orphans the listing agent is to delete next (none: the run is over); not found for any other host or tenant.</summary>
    [Alias("GetReclaimAsync")]
    Task<CommandResult<ReclaimOrder>> GetReclaimAsync(Guid tenantId, Guid hostId);

    /// <summary>Takes what the listing agent did with orphans it was given (any other key is refused).</summary>
    [Alias("RecordReclaimAsync")]
    Task<CommandResult<ReclaimReceipt>> RecordReclaimAsync(Guid tenantId, Guid hostId, ReclaimResult[] results);

    /// <summary>The lost stubs' content this host is to re-tier from its intact copies (none: nothing waits on it).</summary>
    [Alias("GetRestoresAsync")]
    Task<CommandResult<RestoreItem[]>> GetRestoresAsync(Guid tenantId, Guid hostId);

    /// <summary>Takes what the copy's agent did; a restored copy makes its lost record STUBBED again (any other record is refused).</summary>
    [Alias("RecordRestoresAsync")]
    Task<CommandResult<RestoreReceipt>> RecordRestoresAsync(Guid tenantId, Guid hostId, RestoreResult[] results);

    /// <summary>Takes the next part of the listing from the agent that lists the run (anything else is not found).</summary>
    [Alias("RecordListingAsync")]
    Task<CommandResult<ReconcileListingReceipt>> RecordListingAsync(Guid tenantId, Guid hostId, ReconcileListing listing);
}
