using Alto.GrainInterfaces.Planning;

namespace Alto.Grains.Planning;

/// <summary>Adds host plans up into a tenant plan: rules by id, counts summed, transfer time the longest host's.</summary>
public static class PlanMerge
{
    public static PlanSummary Tenant(Guid tenantId, bool dryRun, DateTimeOffset evaluatedAt, IReadOnlyList<PlanSummary> hosts, double seconds)
    {
        var rules = hosts.SelectMany(host => host.Rules)
            .GroupBy(rule => rule.RuleId)
            .Select(group => group.First() with
            {
                Files = group.Sum(rule => rule.Files),
                Bytes = group.Sum(rule => rule.Bytes),
                SamplePaths = [.. group.SelectMany(rule => rule.SamplePaths).Take(RuleTally.DefaultSamples)],
            })
            .OrderBy(rule => rule.Priority)
            .ToArray();
        var changes = dryRun
            ? null
            : new PlanChanges(
                hosts.Sum(h => h.Changes?.NewlyPlanned ?? 0), hosts.Sum(h => h.Changes?.Moved ?? 0),
                hosts.Sum(h => h.Changes?.Unplanned ?? 0), hosts.Sum(h => h.Changes?.Unchanged ?? 0),
                hosts.Sum(h => h.Changes?.JobsCreated ?? 0), hosts.Sum(h => h.Changes?.JobsRemoved ?? 0))
            {
                Retried = hosts.Sum(h => h.Changes?.Retried ?? 0),
            };
        return new PlanSummary(
            tenantId, null, dryRun, evaluatedAt,
            hosts.Sum(h => h.FilesEvaluated), hosts.Sum(h => h.FilesAlreadyTiered), hosts.Sum(h => h.FilesToTier),
            hosts.Sum(h => h.BytesToTier), hosts.Count == 0 ? 0 : hosts.Max(h => h.EstimatedTransferSeconds),
            rules, changes, hosts.Sum(h => h.RegexTimeouts), seconds)
        {
            Hosts = [.. hosts],
            FilesOutsideVolumes = hosts.Sum(h => h.FilesOutsideVolumes),
            FilesBelowMinimumSize = hosts.Sum(h => h.FilesBelowMinimumSize),
            FilesUnmatched = hosts.Sum(h => h.FilesUnmatched),
            BytesUnmatched = hosts.Sum(h => h.BytesUnmatched),
            UnmatchedSamplePaths = [.. hosts.SelectMany(h => h.UnmatchedSamplePaths).Take(RuleTally.DefaultSamples)],
        };
    }
}
