using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Reconcile;

namespace Alto.Grains.Reconcile;

/// <summary>What makes a reclaim report unacceptable, checked whole before anything of it is kept.</summary>
public static class ReclaimCheck
{
    public static ListingCheck.ListingProblem? Problem(IReadOnlyList<ReclaimResult> results)
    {
        if (results.Count is 0 or > ReclaimOrder.MaxKeys)
        {
            return new("results", $"a report holds 1 to {ReclaimOrder.MaxKeys} results (got {results.Count})");
        }
        for (var i = 0; i < results.Count; i++)
        {
            var result = results[i];
            if (string.IsNullOrEmpty(result.Key) || result.Key.Length > 1024 || AgentText.HasNul(result.Key))
            {
                return new($"results[{i}].key", "is required, at most 1024 characters, without NUL");
            }
            if (!ReclaimResult.Outcomes.Contains(result.Outcome))
            {
                return new($"results[{i}].outcome", $"must be one of {string.Join(", ", ReclaimResult.Outcomes)}");
            }
            if (result.Detail is { Length: > 1000 })
            {
                return new($"results[{i}].detail", "at most 1000 characters");
            }
        }
        return null;
    }

    /// <summary>The results as they can be kept: a NUL in a detail (the store's words) becomes U+FFFD.</summary>
    public static ReclaimResult[] Storable(IEnumerable<ReclaimResult> results) =>
        [.. results.Select(result => AgentText.HasNul(result.Detail) ? result with { Detail = AgentText.Storable(result.Detail) } : result)];
}
