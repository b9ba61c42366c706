using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Reconcile;

namespace Alto.Grains.Reconcile;

/// <summary>What makes a census report unacceptable, checked whole before anything of it is kept.</summary>
public static class CensusCheck
{
    public static ListingCheck.ListingProblem? Problem(IReadOnlyList<StubFact> facts)
    {
        if (facts.Count is 0 or > StubFact.MaxPerReport)
        {
            return new("facts", $"a report holds 1 to {StubFact.MaxPerReport} facts (got {facts.Count})");
        }
        for (var i = 0; i < facts.Count; i++)
        {
            var fact = facts[i];
            if (string.IsNullOrEmpty(fact.Path) || fact.Path.Length > 4096 || AgentText.HasNul(fact.Path))
            {
                return new($"facts[{i}].path", "is required, at most 4096 characters, without NUL");
            }
            if (!StubFact.Kinds.Contains(fact.Found))
            {
                return new($"facts[{i}].found", $"must be one of {string.Join(", ", StubFact.Kinds)}");
            }
            if (fact.Found == StubFact.Stub && (fact.Locator is not { Length: > 0 and <= 1024 } || fact.Sha256 is not { Length: 64 } || fact.TargetId is null))
            {
                return new($"facts[{i}]", "a stub is reported with its locator, SHA-256 and target");
            }
            if (AgentText.HasNul(fact.Locator) || fact.Sha256 is { } sha && !sha.All(char.IsAsciiHexDigit))
            {
                return new($"facts[{i}]", "a stub's locator holds no NUL, and its SHA-256 is 64 hexadecimal digits");
            }
            if (fact.Detail is { Length: > 1000 })
            {
                return new($"facts[{i}].detail", "at most 1000 characters");
            }
        }
        return null;
    }

    /// <summary>The facts as they can be kept: a NUL in a detail (the system's words) becomes U+FFFD.</summary>
    public static StubFact[] Storable(StubFact[] facts) =>
        [.. facts.Select(fact => AgentText.HasNul(fact.Detail) ? fact with { Detail = AgentText.Storable(fact.Detail) } : fact)];
}
