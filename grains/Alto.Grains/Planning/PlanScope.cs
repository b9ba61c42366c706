using Alto.Rules;
using Alto.Scanning;

namespace Alto.Grains.Planning;

/// <summary>
/// Which files of a host a plan may select at all, whatever the rules say: those below one of the
/// host's registered volumes (the agent arms recall on open there, and only there, so a stub
/// anywhere else would read as zeros), and at least the tenant's minimum tierable size. A
/// LucidLink filespace's own audit trail (<c>.lucid_audit</c>) is never selected, whatever a
/// third-party scanner put in the inventory: the agent reads it.
/// </summary>
public sealed class PlanScope(PathFlavor flavor, IReadOnlyList<string> volumes, long minimumBytes)
{
    public const string LucidTrailFolder = ".lucid_audit";

    /// <summary>
    /// <see cref="RuleSet.OutsideVolumes"/>, <see cref="RuleSet.BelowMinimumSize"/> or (for the
    /// audit trail) <see cref="RuleSet.NoMatch"/> for a file no rule may select; 0 otherwise.
    /// </summary>
    public int Excludes(string path, long sizeBytes) =>
        !flavor.IsWithinAny(path, volumes) ? RuleSet.OutsideVolumes
        : InAuditTrail(path) ? RuleSet.NoMatch
        : sizeBytes < minimumBytes ? RuleSet.BelowMinimumSize
        : 0;

    private bool InAuditTrail(string path)
    {
        var at = path.IndexOf(LucidTrailFolder, flavor == PathFlavor.Windows ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
        while (at > 0)
        {
            var end = at + LucidTrailFolder.Length;
            if (IsSeparator(path[at - 1]) && end < path.Length && IsSeparator(path[end]))
            {
                return true;
            }
            at = path.IndexOf(LucidTrailFolder, end, flavor == PathFlavor.Windows ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
        }
        return false;
    }

    private bool IsSeparator(char c) => c == '/' || (flavor == PathFlavor.Windows && c == '\\');
}
