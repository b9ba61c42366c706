namespace Alto.GrainInterfaces.Rules;

/// <summary>What a matching rule does with a file.</summary>
public enum RuleAction
{
    /// <summary>Move the file to the rule's storage target and leave a stub.</summary>
    Tier = 0,

    /// <summary>Keep the file on tier 1: matching it here stops later rules from tiering it.</summary>
    Exclude = 1,
}

/// <summary>
/// What a file must satisfy for a rule to match: every criterion that is set must hold. Path
/// patterns follow the host's OS (case-insensitive, either slash on Windows); extensions compare
/// case-insensitively, without the dot.
/// </summary>
[GenerateSerializer, Immutable, Alias("Alto.RuleCriteria")]
public sealed record RuleCriteria(
    [property: Id(0)] string[] PathGlobs,
    [property: Id(1)] string[] ExcludePathGlobs,
    [property: Id(2)] string? PathRegex,
    [property: Id(3)] string? ExcludePathRegex,
    [property: Id(4)] long? MinSizeBytes,
    [property: Id(5)] long? MaxSizeBytes,
    [property: Id(6)] int? AccessedOlderThanDays,
    [property: Id(7)] int? ModifiedOlderThanDays,
    [property: Id(8)] string[] Extensions,
    [property: Id(9)] string[] ExcludeExtensions)
{
    public static RuleCriteria None { get; } = new([], [], null, null, null, null, null, null, [], []);

    /// <summary>True when no criterion is set: such a rule would match every file.</summary>
    /// <summary>Not part of the API's shape: a rule read from the API is sent back as it came.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsEmpty =>
        PathGlobs.Length == 0 && ExcludePathGlobs.Length == 0 && PathRegex is null && ExcludePathRegex is null
        && MinSizeBytes is null && MaxSizeBytes is null && AccessedOlderThanDays is null && ModifiedOlderThanDays is null
        && Extensions.Length == 0 && ExcludeExtensions.Length == 0;
}

/// <summary>One rule of a tenant. Rules are evaluated in ascending <see cref="Priority"/>; the first match wins.</summary>
[GenerateSerializer, Immutable, Alias("Alto.RuleInfo")]
public sealed record RuleInfo(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid TenantId,
    [property: Id(2)] string Name,
    [property: Id(3)] int Priority,
    [property: Id(4)] bool Enabled,
    [property: Id(5)] RuleAction Action,
    [property: Id(6)] Guid? TargetId,
    [property: Id(7)] Guid? HostId,
    [property: Id(8)] RuleCriteria Criteria,
    [property: Id(9)] DateTimeOffset CreatedAt,
    [property: Id(10)] DateTimeOffset UpdatedAt);

/// <summary>A whole rule as an admin writes it; on update a null priority keeps the rule's place.</summary>
[GenerateSerializer, Immutable, Alias("Alto.RuleDefinition")]
public sealed record RuleDefinition(
    [property: Id(0)] string Name,
    [property: Id(1)] int? Priority,
    [property: Id(2)] bool Enabled,
    [property: Id(3)] RuleAction Action,
    [property: Id(4)] Guid? TargetId,
    [property: Id(5)] Guid? HostId,
    [property: Id(6)] RuleCriteria Criteria);
