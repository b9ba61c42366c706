using Alto.GrainInterfaces.Rules;
using Alto.Scanning;

namespace Alto.Rules;

/// <summary>
/// The one rule engine: a tenant's rules for one host, compiled, in evaluation order. First match
/// wins; files already stubbed or in flight are never matched. Not thread-safe (it counts regex
/// time-outs); compile one per planning run.
/// </summary>
public sealed class RuleSet
{
    /// <summary>No rule matched: the file stays where it is.</summary>
    public const int NoMatch = -1;

    /// <summary>Not evaluated: the file is a stub already or its tier object is in flight.</summary>
    public const int AlreadyTiered = -2;

    /// <summary>Not evaluated: the file is not below any of the host's registered volumes.</summary>
    public const int OutsideVolumes = -3;

    /// <summary>Not evaluated: the file is smaller than the tenant's minimum tierable size.</summary>
    public const int BelowMinimumSize = -4;

    private readonly CompiledRule[] _rules;
    private long _regexTimeouts;

    private RuleSet(CompiledRule[] rules) => _rules = rules;

    public IReadOnlyList<CompiledRule> Rules => _rules;

    /// <summary>Path matches abandoned for running over <see cref="PathRegex.MatchTimeout"/>.</summary>
    public long RegexTimeouts => _regexTimeouts;

    /// <summary>
    /// Compiles <paramref name="rules"/> (disabled ones and those scoped to other hosts are left
    /// out) for a host of <paramref name="flavor"/>; ages count back from <paramref name="now"/>.
    /// <paramref name="unusableTarget"/> says why a target cannot take data now, or null when it can.
    /// A path match runs at most <paramref name="matchTimeout"/> (default <see cref="PathRegex.MatchTimeout"/>).
    /// </summary>
    public static RuleSet Compile(
        IEnumerable<RuleInfo> rules, PathFlavor flavor, DateTimeOffset now, Guid? hostId,
        Func<Guid, string?> unusableTarget, TimeSpan? matchTimeout = null)
    {
        var nowUnix = now.ToUnixTimeSeconds();
        var ordered = rules
            .Where(rule => rule.Enabled && (rule.HostId is null || hostId is null || rule.HostId == hostId))
            .OrderBy(rule => rule.Priority)
            .ThenBy(rule => rule.Id)
            .ToArray();
        var compiledRules = new CompiledRule[ordered.Length];
        for (var i = 0; i < ordered.Length; i++)
        {
            var rule = ordered[i];
            var held = rule.Action == RuleAction.Tier
                ? rule.TargetId is { } target ? unusableTarget(target) : "the rule has no storage target"
                : null;
            compiledRules[i] = new CompiledRule(rule, i, flavor, nowUnix, held, matchTimeout ?? PathRegex.MatchTimeout);
        }
        return new RuleSet(compiledRules);
    }

    /// <summary>The index of the first rule that matches, <see cref="NoMatch"/> or <see cref="AlreadyTiered"/>.</summary>
    public int Evaluate(in FileFacts file)
    {
        if (file.IsStub || file.InFlight)
        {
            return AlreadyTiered;
        }
        foreach (var rule in _rules)
        {
            if (rule.Matches(file, ref _regexTimeouts))
            {
                return rule.Index;
            }
        }
        return NoMatch;
    }
}
