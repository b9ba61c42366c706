using Alto.GrainInterfaces.Rules;

namespace Alto.Grains.Tests.Rules;

/// <summary>Short-hand for rules in tests: a tier rule to one target unless told otherwise.</summary>
internal static class RuleBuilder
{
    public static readonly Guid TargetId = Guid.Parse("00000000-0000-0000-0000-0000000000aa");

    public static RuleInfo Tier(int priority, RuleCriteria criteria, Guid? targetId = null, Guid? hostId = null, bool enabled = true) =>
        new(Guid.NewGuid(), Guid.Empty, $"rule {priority}", priority, enabled, RuleAction.Tier, targetId ?? TargetId, hostId, criteria,
            DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    public static RuleInfo Exclude(int priority, RuleCriteria criteria) =>
        new(Guid.NewGuid(), Guid.Empty, $"keep {priority}", priority, true, RuleAction.Exclude, null, null, criteria,
            DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    public static RuleCriteria Globs(params string[] globs) => RuleCriteria.None with { PathGlobs = globs };
}
