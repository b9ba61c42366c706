using Alto.Audit;
using Alto.GrainInterfaces.Hosts;
using Alto.Grains.Tiers;

namespace Alto.Grains.Hosts;

/// <summary>
/// Plan approval: under a tenant's manual approval policy the planner's jobs wait until a tenant
/// admin approves them (they go to the agent like any queued job) or declines them (they end
/// declined, and their files are held back from planning for as long as the admin says).
/// </summary>
public sealed partial class HostGrain
{
    public async Task<ApprovedJobs> ApproveJobsAsync(Guid[]? jobIds)
    {
        var approved = await jobs.ApproveAsync(Id, jobIds, AuditContext.Actor, approved => AdminAudit.Entry(host.State.TenantId, "tier.jobs_approved",
            "host", Id.ToString(), null, null, new Dictionary<string, object?> { ["jobIds"] = approved.JobIds, ["files"] = approved.Files, ["bytes"] = approved.Bytes }, hostId: Id));
        if (approved.JobIds.Length > 0 && _observer is not null)
        {
            await DispatchAsync();
        }
        return approved;
    }

    public async Task<DeclinedJobs> DeclineJobsAsync(Guid[]? jobIds, TimeSpan hold, string? reason)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(hold, TimeSpan.Zero);
        var why = string.IsNullOrWhiteSpace(reason) ? $"declined by {AuditContext.Actor}" : $"declined by {AuditContext.Actor}: {reason}";
        var declined = new DeclinedJobs([], 0, 0);
        // The jobs end and their files are held in one transaction: a declined job never keeps a planned file.
        var outcomes = await ledger.ApplyAsync(Id, async (connection, transaction, cancellationToken) =>
        {
            var rows = await JobRows.DeclineAsync(connection, transaction, Id, jobIds, why, cancellationToken);
            declined = rows.Jobs;
            if (declined.JobIds.Length == 0)
            {
                return new LedgerBatch([], []);
            }
            var held = new TierEvent(TierEventKind.Declined, AuditContext.Actor, Reason: why) { Hold = hold };
            return new LedgerBatch([.. rows.TierObjectIds.Select(id => new TierChange(id, held))], [AdminAudit.Entry(host.State.TenantId, "tier.jobs_declined",
                "host", Id.ToString(), null, null, new Dictionary<string, object?>
                {
                    ["jobIds"] = declined.JobIds, ["files"] = declined.Files, ["bytes"] = declined.Bytes, ["reason"] = reason, ["holdDays"] = hold.TotalDays,
                }, hostId: Id)]);
        }, CancellationToken.None);
        return declined with { HeldUntil = outcomes.FirstOrDefault(outcome => outcome.Applied)?.After?.NextAttemptAt };
    }
}
