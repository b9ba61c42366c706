using Alto.Audit;
using Alto.Grains.Persistence;
using Alto.GrainInterfaces.Hosts;

namespace Alto.Grains.Hosts;

/// <summary>
/// The host's state: changed on a copy and persisted (grain state, then the alto.host read model),
/// admin changes audited with the view before and after, and the view the API shows.
/// </summary>
public sealed partial class HostGrain
{
    private FollowUps? _followUps;

    private FollowUps FollowUps => _followUps ??= new FollowUps(this, "host", () => host.State, WriteAllRowsAsync, audit, followUpMetrics, logger);

    private async Task WriteAllRowsAsync()
    {
        if (host.State.Exists)
        {
            await rows.UpsertAsync(Id, host.State);
            return;
        }
        await commandRows.RemoveAllAsync(Id);
        await rows.DeleteOrphanAsync(Id);
    }

    /// <summary>An admin change: stored like any other, with its audit entry (the host's view before and after) in the same write.</summary>
    private Task AuditedChangeAsync(string action, Action<HostState> change, IReadOnlyDictionary<string, object?>? extra = null)
    {
        var before = ToInfo();
        return ChangeAsync(state =>
        {
            change(state);
            HoldAudit(state, action, before, extra);
        });
    }

    /// <summary>Adds the entry of an admin change to the state about to be written with it.</summary>
    private void HoldAudit(HostState state, string action, HostInfo? before, IReadOnlyDictionary<string, object?>? extra = null) =>
        FollowUps.Hold(state, AdminAudit.Prepare(state.TenantId, action, "host", Id.ToString(), before, ToInfo(state), time.GetUtcNow(), extra, hostId: Id));

    /// <summary>The entry of what was done outside the grain's state, appended at once.</summary>
    private Task AuditAsync(string action, HostInfo? before, IReadOnlyDictionary<string, object?>? extra = null) =>
        audit.RecordAsync(AuditEntryOf(action, before, extra));

    /// <summary>The entry of a request of this call's caller (the host's view after it), for the transaction that stores what it asked for.</summary>
    private AuditEntry AuditEntryOf(string action, HostInfo? before, IReadOnlyDictionary<string, object?>? extra = null) =>
        AdminAudit.Entry(host.State.TenantId, action, "host", Id.ToString(), before, ToInfo(), extra, hostId: Id);

    private Task ChangeAsync(Action<HostState> change)
    {
        var before = host.State;
        host.State = Copy(before);
        change(host.State);
        return PersistAsync(before);
    }

    /// <summary>Writes the changed state, then its row and the audit entries held; a failed state write restores the state held before.</summary>
    private async Task PersistAsync(HostState before)
    {
        try
        {
            await host.WriteStateAsync();
        }
        catch
        {
            host.State = before;
            throw;
        }
        await FollowUps.RunAsync(() => rows.UpsertAsync(Id, host.State));
    }

    private static HostState Copy(HostState state) => new()
    {
        Exists = state.Exists,
        TenantId = state.TenantId,
        Name = state.Name,
        Os = state.Os,
        Volumes = state.Volumes,
        Status = state.Status,
        EnrollmentTokenHash = state.EnrollmentTokenHash,
        EnrollmentExpiresAt = state.EnrollmentExpiresAt,
        CredentialHash = state.CredentialHash,
        CreatedAt = state.CreatedAt,
        UpdatedAt = state.UpdatedAt,
        UsedEnrollmentTokenHash = state.UsedEnrollmentTokenHash,
        EnrolledAt = state.EnrolledAt,
        AgentVersion = state.AgentVersion,
        LastScanAt = state.LastScanAt,
        FileCount = state.FileCount,
        TotalBytes = state.TotalBytes,
        PendingCommands = [.. state.PendingCommands],
        BandwidthLimitBytesPerSecond = state.BandwidthLimitBytesPerSecond,
        TransferWindows = state.TransferWindows,
        TimeZone = state.TimeZone,
        LucidLink = state.LucidLink,
        CredentialUnconfirmed = state.CredentialUnconfirmed,
        UnrecordedAudit = state.UnrecordedAudit,
    };

    private HostInfo ToInfo() => ToInfo(host.State);

    private HostInfo ToInfo(HostState state) => new(
        Id, state.TenantId, state.Name, state.Os, state.Volumes, state.Status,
        state.EnrollmentExpiresAt, state.CreatedAt, state.UpdatedAt)
    {
        LastScanAt = state.LastScanAt,
        FileCount = state.FileCount,
        TotalBytes = state.TotalBytes,
        LastHeartbeatAt = _lastHeartbeat,
        AgentVersion = state.AgentVersion,
        LatestMetrics = _metrics,
        Gateway = _session?.Gateway,
        PendingCommands = _pendingCommands,
        BandwidthLimitBytesPerSecond = state.BandwidthLimitBytesPerSecond,
        LastPlannedAt = _lastPlannedAt,
        TransferWindows = state.TransferWindows,
        TimeZone = state.TimeZone,
        LucidLink = state.LucidLink,
        CredentialUnconfirmed = state.CredentialUnconfirmed,
    };
}
