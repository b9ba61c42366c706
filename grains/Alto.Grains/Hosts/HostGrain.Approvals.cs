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
        var (declined, files, bytes, heldUntil) = (new List<Guid>(), 0L, 0L, (DateTimeOffset?)null);
        // A few jobs per transaction: a first plan of millions of files waits in thousands of jobs,
        // and declining them all must not hold every one of their rows (and audit entries) at once.
        foreach (var chunk in (jobIds ?? await jobs.AwaitingAsync(Id)).Chunk(JobsDeclinedPerTransaction))
        {
            var (some, until) = await DeclineAtOnceAsync(chunk, hold, reason, why);
            declined.AddRange(some.JobIds);
            files += some.Files;
            bytes += some.Bytes;
            heldUntil ??= until;
        }
        return new DeclinedJobs([.. declined], files, bytes) { HeldUntil = heldUntil };
    }

    /// <summary>At most this many jobs (of up to 1,000 files each) are declined in one transaction.</summary>
    private const int JobsDeclinedPerTransaction = 5;

    /// <summary>Declines the given jobs, if they still wait, and holds their files, in one transaction with its audit entries.</summary>
    private async Task<(DeclinedJobs Jobs, DateTimeOffset? HeldUntil)> DeclineAtOnceAsync(Guid[] jobIds, TimeSpan hold, string? reason, string why)
    {
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
        return (declined, outcomes.FirstOrDefault(outcome => outcome.Applied)?.After?.NextAttemptAt);
    }
}
