using Alto.GrainInterfaces.Rules;
using Alto.Gateway.Apis;
using Alto.Rules;

namespace Alto.Gateway.Validation;

/// <summary>
/// Reads a rule from a request: shape and normal form here (extensions lower-case without the
/// dot), then the rule engine's own checks (globs and regexes compile, no catastrophic regex),
/// so every problem is reported at once under its field. Targets and hosts are checked by the
/// tenant grain, which owns them.
/// </summary>
public static class RuleRequestRules
{
    public const int NameMaxLength = 100;

    public static RuleDefinition? Read(RequestErrors errors, RuleRequest request)
    {
        var name = errors.Name("name", request.Name, NameMaxLength, required: true);
        var action = request.Action switch
        {
            null or "tier" => RuleAction.Tier,
            "exclude" => RuleAction.Exclude,
            _ => (RuleAction?)null,
        };
        if (action is null)
        {
            errors.Add("action", "action must be 'tier' (move matches to the target) or 'exclude' (keep matches on tier 1)");
        }
        if (request.Priority is < 1 or > 1_000_000)
        {
            errors.Add("priority", $"priority must be between 1 and 1000000 (got {request.Priority})");
        }
        if (action == RuleAction.Tier && request.TargetId is null)
        {
            errors.Add("targetId", "a tier rule needs the targetId of one of the tenant's storage targets");
        }
        if (action == RuleAction.Exclude)
        {
            errors.MustBeAbsent("targetId", request.TargetId, "an exclude rule");
        }
        if (request.Criteria is null)
        {
            errors.Add("criteria", "criteria is required");
            return null;
        }
        var criteria = ReadCriteria(errors, request.Criteria);
        if (errors.Any)
        {
            return null;
        }
        return new RuleDefinition(name!, request.Priority, request.Enabled ?? true, action!.Value, request.TargetId, request.HostId, criteria);
    }

    private static RuleCriteria ReadCriteria(RequestErrors errors, RuleCriteriaRequest request)
    {
        var criteria = new RuleCriteria(
            Patterns(errors, "criteria.pathGlobs", request.PathGlobs),
            Patterns(errors, "criteria.excludePathGlobs", request.ExcludePathGlobs),
            Pattern(errors, "criteria.pathRegex", request.PathRegex),
            Pattern(errors, "criteria.excludePathRegex", request.ExcludePathRegex),
            request.MinSizeBytes, request.MaxSizeBytes, request.AccessedOlderThanDays, request.ModifiedOlderThanDays,
            Extensions(request.Extensions), Extensions(request.ExcludeExtensions));
        foreach (var problem in RuleCriteriaCheck.Problems(criteria))
        {
            errors.Add(problem.Field, problem.Message);
        }
        return criteria;
    }

    private static string[] Patterns(RequestErrors errors, string field, string[]? patterns)
    {
        var given = patterns ?? [];
        for (var i = 0; i < given.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(given[i]))
            {
                errors.Add($"{field}[{i}]", "a glob must not be empty");
            }
        }
        return [.. given.Where(pattern => !string.IsNullOrWhiteSpace(pattern))];
    }

    private static string? Pattern(RequestErrors errors, string field, string? pattern)
    {
        if (pattern is not null && pattern.Length == 0)
        {
            errors.Add(field, $"{field[(field.LastIndexOf('.') + 1)..]} must not be empty; leave it out instead");
            return null;
        }
        return pattern;
    }

    private static string[] Extensions(string[]? extensions) =>
        [.. (extensions ?? []).Select(extension => (extension ?? "").Trim().TrimStart('.').ToLowerInvariant()).Distinct(StringComparer.Ordinal)];
}
