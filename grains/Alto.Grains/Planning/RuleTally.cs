using Alto.GrainInterfaces.Planning;
using Alto.Rules;

namespace Alto.Grains.Planning;

/// <summary>Counts what each rule selects during one evaluation, keeping the first few paths as samples.</summary>
public sealed class RuleTally(RuleSet rules, int samplesPerRule = RuleTally.DefaultSamples)
{
    public const int DefaultSamples = 10;

    private readonly long[] _files = new long[rules.Rules.Count];
    private readonly long[] _bytes = new long[rules.Rules.Count];
    private readonly List<string>[] _samples = [.. rules.Rules.Select(_ => new List<string>(samplesPerRule))];
    private readonly List<string> _unmatchedSamples = new(samplesPerRule);

    public long FilesEvaluated { get; private set; }

    public long FilesAlreadyTiered { get; private set; }

    public long FilesOutsideVolumes { get; private set; }

    public long FilesBelowMinimumSize { get; private set; }

    public long FilesUnmatched { get; private set; }

    public long BytesUnmatched { get; private set; }

    public IReadOnlyList<string> UnmatchedSamples => _unmatchedSamples;

    /// <summary>Adds one evaluated file; <paramref name="path"/> is only materialised as a sample.</summary>
    public void Add(int verdict, ReadOnlySpan<char> path, long sizeBytes)
    {
        FilesEvaluated++;
        switch (verdict)
        {
            case RuleSet.AlreadyTiered:
                FilesAlreadyTiered++;
                return;
            case RuleSet.OutsideVolumes:
                FilesOutsideVolumes++;
                return;
            case RuleSet.BelowMinimumSize:
                FilesBelowMinimumSize++;
                return;
        }
        if (verdict == RuleSet.NoMatch)
        {
            FilesUnmatched++;
            BytesUnmatched += sizeBytes;
            if (_unmatchedSamples.Count < samplesPerRule)
            {
                _unmatchedSamples.Add(path.ToString());
            }
            return;
        }
        if (verdict < 0)
        {
            return;
        }
        _files[verdict]++;
        _bytes[verdict] += sizeBytes;
        if (_samples[verdict].Count < samplesPerRule)
        {
            _samples[verdict].Add(path.ToString());
        }
    }

    public RulePlan[] ToRulePlans() =>
    [
        .. rules.Rules.Select(rule => new RulePlan(
            rule.Rule.Id, rule.Rule.Name, rule.Rule.Priority, rule.Rule.Action, rule.Rule.TargetId, rule.HeldBecause,
            _files[rule.Index], _bytes[rule.Index], [.. _samples[rule.Index]])),
    ];

    public (long Files, long Bytes) ToTier() =>
        (rules.Rules.Where(r => r.Plans).Sum(r => _files[r.Index]), rules.Rules.Where(r => r.Plans).Sum(r => _bytes[r.Index]));
}
