using Alto.Audit;
using Alto.Grains.Persistence;

namespace Alto.Grains.Tenants;

/// <summary>
/// How a change is stored: the change and its audit entry in one state write, then the read-model
/// rows and the entry's append, which may wait (<see cref="Persistence.FollowUps"/>) but are never lost.
/// </summary>
public sealed partial class TenantGrain
{
    private FollowUps? _followUps;

    private FollowUps FollowUps => _followUps ??= new FollowUps(this, "tenant", () => tenant.State, WriteAllRowsAsync, audit, followUpMetrics, logger);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (tenant.State.Exists)
        {
            await SealLegacyCredentialsAsync();
        }
        await FollowUps.ResyncAsync();
    }

    private async Task WriteAllRowsAsync()
    {
        if (!tenant.State.Exists)
        {
            await rows.DeleteOrphanTenantAsync(Id);
            return;
        }
        await rows.UpsertTenantAsync(Id, tenant.State);
        foreach (var target in tenant.State.Targets.Values)
        {
            await rows.UpsertTargetAsync(Id, target);
        }
        await ruleRows.ReplaceAsync(Id, tenant.State.Rules.Values);
    }

    /// <summary>The audit entry of a change being made now by this call's caller.</summary>
    private UnrecordedAudit AuditOf(string action, string objectType, string objectId, object? before, object? after) =>
        AdminAudit.Prepare(Id, action, objectType, objectId, before, after, time.GetUtcNow());

    /// <summary>Stores the change already made to the state with its audit entry; a failed write runs <paramref name="undo"/> and drops the entry.</summary>
    private async Task StoreAsync(UnrecordedAudit entry, Action undo)
    {
        var held = tenant.State.UnrecordedAudit;
        FollowUps.Hold(tenant.State, entry);
        try
        {
            await tenant.WriteStateAsync();
        }
        catch
        {
            undo();
            tenant.State.UnrecordedAudit = held;
            throw;
        }
    }

    /// <summary>After a stored change: its rows, then every audit entry held.</summary>
    private Task FollowUpAsync(Func<Task> writeRows) => FollowUps.RunAsync(writeRows);
}
