using System.Collections.Frozen;
using System.Text.RegularExpressions;
using Alto.GrainInterfaces.Rules;
using Alto.Scanning;

namespace Alto.Rules;

/// <summary>
/// One rule made ready for evaluation: numbers become cutoffs, lists frozen sets, and all path
/// patterns of a side one regular expression. Matching allocates nothing.
/// </summary>
public sealed class CompiledRule
{
    private const long SecondsPerDay = 86_400;

    private readonly long _minSize;
    private readonly long _maxSize;
    private readonly long _accessedCutoff;
    private readonly long _modifiedCutoff;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>>? _extensions;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>>? _excludedExtensions;
    private readonly Regex? _paths;
    private readonly Regex? _excludedPaths;
    private readonly Regex? _pathRegex;
    private readonly Regex? _excludedPathRegex;

    internal CompiledRule(RuleInfo rule, int index, PathFlavor flavor, long nowUnix, string? heldBecause, TimeSpan matchTimeout)
    {
        Rule = rule;
        Index = index;
        HeldBecause = heldBecause;
        var criteria = rule.Criteria;
        _minSize = criteria.MinSizeBytes ?? long.MinValue;
        _maxSize = criteria.MaxSizeBytes ?? long.MaxValue;
        // "Older than N days" includes a file exactly N days old.
        _accessedCutoff = criteria.AccessedOlderThanDays is { } accessed ? nowUnix - accessed * SecondsPerDay : long.MaxValue;
        _modifiedCutoff = criteria.ModifiedOlderThanDays is { } modified ? nowUnix - modified * SecondsPerDay : long.MaxValue;
        _extensions = Lookup(criteria.Extensions);
        _excludedExtensions = Lookup(criteria.ExcludeExtensions);
        _paths = Globs(criteria.PathGlobs, flavor, matchTimeout);
        _excludedPaths = Globs(criteria.ExcludePathGlobs, flavor, matchTimeout);
        _pathRegex = criteria.PathRegex is { } include ? PathRegex.Create(include, flavor, matchTimeout) : null;
        _excludedPathRegex = criteria.ExcludePathRegex is { } exclude ? PathRegex.Create(exclude, flavor, matchTimeout) : null;
    }

    public RuleInfo Rule { get; }

    /// <summary>Place in evaluation order, from 0.</summary>
    public int Index { get; }

    /// <summary>Why a tier rule cannot plan now (its target is gone or disabled); it still claims its matches.</summary>
    public string? HeldBecause { get; }

    /// <summary>True when a match becomes a planned tier object.</summary>
    public bool Plans => Rule.Action == RuleAction.Tier && HeldBecause is null;

    /// <summary>
    /// Cheap tests first. A pattern that runs out of time fails closed: a rule that would tier the
    /// file does not match it, and a rule that keeps files (an exclude, or a tier rule held) does —
    /// either way the file stays on tier 1.
    /// </summary>
    internal bool Matches(in FileFacts file, ref long timeouts)
    {
        if (file.SizeBytes < _minSize || file.SizeBytes > _maxSize
            || file.AccessedUnix > _accessedCutoff || file.ModifiedUnix > _modifiedCutoff)
        {
            return false;
        }
        if (_extensions is { } extensions && !extensions.Contains(file.Extension))
        {
            return false;
        }
        if (_excludedExtensions is { } excluded && excluded.Contains(file.Extension))
        {
            return false;
        }
        try
        {
            return Holds(_paths, file.Path, expected: true)
                   && Holds(_excludedPaths, file.Path, expected: false)
                   && Holds(_pathRegex, file.Path, expected: true)
                   && Holds(_excludedPathRegex, file.Path, expected: false);
        }
        catch (RegexMatchTimeoutException)
        {
            timeouts++;
            return !Plans;
        }
    }

    private static bool Holds(Regex? regex, ReadOnlySpan<char> path, bool expected) => regex is null || regex.IsMatch(path) == expected;

    private static FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>>? Lookup(string[] extensions) =>
        extensions.Length == 0
            ? null
            : extensions.Select(e => e.TrimStart('.')).ToFrozenSet(StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    private static Regex? Globs(string[] globs, PathFlavor flavor, TimeSpan matchTimeout) =>
        globs.Length == 0
            ? null
            : PathRegex.Create(string.Join('|', globs.Select(glob => $"(?:{GlobPattern.ToRegexPattern(glob, flavor)})")), flavor, matchTimeout);
}
