using Alto.Grains.Rules;
using Alto.Scanning;

namespace Alto.Grains.Planning;

/// <summary>
/// Which files of a host a plan may select at all, whatever the rules say: those below one of the
/// host's registered volumes (the agent arms recall on open there, and only there, so a stub
/// anywhere else would read as zeros), and at least the tenant's minimum tierable size.
/// </summary>
public sealed class PlanScope(PathFlavor flavor, IReadOnlyList<string> volumes, long minimumBytes)
{
    /// <summary><see cref="RuleSet.OutsideVolumes"/> or <see cref="RuleSet.BelowMinimumSize"/> for a file no rule may select; 0 otherwise.</summary>
    public int Excludes(string path, long sizeBytes) =>
        !flavor.IsWithinAny(path, volumes) ? RuleSet.OutsideVolumes
        : sizeBytes < minimumBytes ? RuleSet.BelowMinimumSize
        : 0;
}
