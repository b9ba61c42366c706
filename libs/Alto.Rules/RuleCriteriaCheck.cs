using Alto.GrainInterfaces.Rules;
using Alto.Scanning;

namespace Alto.Rules;

/// <summary>One problem of a rule, named by the JSON field that has it.</summary>
public sealed record RuleProblem(string Field, string Message);

/// <summary>
/// Validates rule criteria the same way at the API and in the tenant grain, so a rule that is
/// stored always compiles for every host it may be evaluated on.
/// </summary>
public static class RuleCriteriaCheck
{
    public const int MaxPatterns = 50;
    public const int MaxExtensions = 100;
    public const int MaxExtensionLength = 32;
    public const int MaxAgeDays = 36_500;

    /// <summary>All path patterns of a rule together (globs of both sides and both regexes): every file is matched against them.</summary>
    public const int MaxPatternCharacters = 16_384;

    public static List<RuleProblem> Problems(RuleCriteria criteria, string prefix = "criteria")
    {
        var problems = new List<RuleProblem>();
        Globs(problems, $"{prefix}.pathGlobs", criteria.PathGlobs);
        Globs(problems, $"{prefix}.excludePathGlobs", criteria.ExcludePathGlobs);
        Regex(problems, $"{prefix}.pathRegex", criteria.PathRegex);
        Regex(problems, $"{prefix}.excludePathRegex", criteria.ExcludePathRegex);
        var patternCharacters = criteria.PathGlobs.Concat(criteria.ExcludePathGlobs).Sum(glob => (long)glob.Length)
                                + (criteria.PathRegex?.Length ?? 0) + (criteria.ExcludePathRegex?.Length ?? 0);
        if (patternCharacters > MaxPatternCharacters)
        {
            problems.Add(new(prefix, $"the rule's path patterns hold {patternCharacters} characters together; at most {MaxPatternCharacters}"));
        }
        NotNegative(problems, $"{prefix}.minSizeBytes", criteria.MinSizeBytes);
        NotNegative(problems, $"{prefix}.maxSizeBytes", criteria.MaxSizeBytes);
        if (criteria is { MinSizeBytes: >= 0 and var min, MaxSizeBytes: >= 0 and var max } && max < min)
        {
            problems.Add(new($"{prefix}.maxSizeBytes", $"maxSizeBytes ({max}) must not be below minSizeBytes ({min})"));
        }
        Age(problems, $"{prefix}.accessedOlderThanDays", criteria.AccessedOlderThanDays);
        Age(problems, $"{prefix}.modifiedOlderThanDays", criteria.ModifiedOlderThanDays);
        Extensions(problems, $"{prefix}.extensions", criteria.Extensions);
        Extensions(problems, $"{prefix}.excludeExtensions", criteria.ExcludeExtensions);
        foreach (var both in criteria.Extensions.Select(e => e.TrimStart('.')).Intersect(criteria.ExcludeExtensions.Select(e => e.TrimStart('.')), StringComparer.OrdinalIgnoreCase))
        {
            problems.Add(new($"{prefix}.excludeExtensions", $"'{both}' is both included and excluded"));
        }
        if (criteria.IsEmpty)
        {
            problems.Add(new(prefix, "a rule needs at least one criterion; a rule without any would match every file"));
        }
        return problems;
    }

    private static void Globs(List<RuleProblem> problems, string field, string[] globs)
    {
        if (globs.Length > MaxPatterns)
        {
            problems.Add(new(field, $"at most {MaxPatterns} globs (got {globs.Length})"));
            return;
        }
        for (var i = 0; i < globs.Length; i++)
        {
            try
            {
                // Rules are tenant-wide: the glob must work on POSIX and on Windows hosts alike.
                GlobPattern.ToRegexPattern(globs[i], PathFlavor.Posix);
                GlobPattern.ToRegexPattern(globs[i], PathFlavor.Windows);
            }
            catch (PatternException exception)
            {
                problems.Add(new($"{field}[{i}]", $"'{globs[i]}' is not a valid glob: {exception.Message}"));
            }
        }
    }

    private static void Regex(List<RuleProblem> problems, string field, string? pattern)
    {
        if (pattern is null)
        {
            return;
        }
        try
        {
            PathRegex.Vet(pattern);
        }
        catch (PatternException exception)
        {
            problems.Add(new(field, exception.Message));
        }
    }

    private static void NotNegative(List<RuleProblem> problems, string field, long? value)
    {
        if (value < 0)
        {
            problems.Add(new(field, $"{field[(field.LastIndexOf('.') + 1)..]} must not be negative (got {value})"));
        }
    }

    private static void Age(List<RuleProblem> problems, string field, int? days)
    {
        if (days is < 0 or > MaxAgeDays)
        {
            problems.Add(new(field, $"{field[(field.LastIndexOf('.') + 1)..]} must be between 0 and {MaxAgeDays} days (got {days})"));
        }
    }

    private static void Extensions(List<RuleProblem> problems, string field, string[] extensions)
    {
        if (extensions.Length > MaxExtensions)
        {
            problems.Add(new(field, $"at most {MaxExtensions} extensions (got {extensions.Length})"));
            return;
        }
        for (var i = 0; i < extensions.Length; i++)
        {
            // Written with or without its dot ("md" or ".md"): both mean the stored form "md".
            var extension = extensions[i].StartsWith('.') ? extensions[i][1..] : extensions[i];
            if (extension.Length is 0 or > MaxExtensionLength
                || extension.Any(c => c is '.' or '/' or '\\' || char.IsControl(c) || char.IsWhiteSpace(c)))
            {
                problems.Add(new($"{field}[{i}]",
                    $"'{extensions[i]}' is not an extension: 1 to {MaxExtensionLength} characters after the last dot (the dot may be given), without other dots, slashes or spaces"));
            }
        }
    }
}
