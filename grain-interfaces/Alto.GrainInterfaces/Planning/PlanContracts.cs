using Alto.GrainInterfaces.Rules;

namespace Alto.GrainInterfaces.Planning;

/// <summary>What one rule selects in a plan: files and bytes, and a few of its paths.</summary>
[GenerateSerializer, Immutable, Alias("Alto.RulePlan")]
public sealed record RulePlan(
    [property: Id(0)] Guid RuleId,
    [property: Id(1)] string RuleName,
    [property: Id(2)] int Priority,
    [property: Id(3)] RuleAction Action,
    [property: Id(4)] Guid? TargetId,
    [property: Id(5)] string? HeldBecause,
    [property: Id(6)] long Files,
    [property: Id(7)] long Bytes,
    [property: Id(8)] string[] SamplePaths);

/// <summary>What a real plan changed in alto.tier_object and alto.tiering_job.</summary>
[GenerateSerializer, Immutable, Alias("Alto.PlanChanges")]
public sealed record PlanChanges(
    [property: Id(0)] long NewlyPlanned,
    [property: Id(1)] long Moved,
    [property: Id(2)] long Unplanned,
    [property: Id(3)] long Unchanged,
    [property: Id(4)] int JobsCreated,
    [property: Id(5)] int JobsRemoved)
{
    /// <summary>Files whose tiering failed and whose next attempt was due, put into a job again.</summary>
    [Id(6)] public long Retried { get; init; }
}

/// <summary>
/// The outcome of planning a host (or, with <see cref="Hosts"/>, a whole tenant). A dry run has the
/// same figures and no <see cref="Changes"/>. The transfer estimate is bytes over the host's
/// bandwidth; for a tenant it is the longest host's, as hosts transfer side by side.
/// </summary>
[GenerateSerializer, Immutable, Alias("Alto.PlanSummary")]
public sealed record PlanSummary(
    [property: Id(0)] Guid TenantId,
    [property: Id(1)] Guid? HostId,
    [property: Id(2)] bool DryRun,
    [property: Id(3)] DateTimeOffset EvaluatedAt,
    [property: Id(4)] long FilesEvaluated,
    [property: Id(5)] long FilesAlreadyTiered,
    [property: Id(6)] long FilesToTier,
    [property: Id(7)] long BytesToTier,
    [property: Id(8)] long EstimatedTransferSeconds,
    [property: Id(9)] RulePlan[] Rules,
    [property: Id(10)] PlanChanges? Changes,
    [property: Id(11)] long RegexTimeouts,
    [property: Id(12)] double Seconds)
{
    [Id(13)] public PlanSummary[] Hosts { get; init; } = [];

    /// <summary>Files not below any of the host's registered volumes: never planned (recall is armed only there).</summary>
    [Id(14)] public long FilesOutsideVolumes { get; init; }

    /// <summary>Files smaller than the tenant's minimum tierable size: never planned.</summary>
    [Id(15)] public long FilesBelowMinimumSize { get; init; }

    /// <summary>Files evaluated that no rule matched: they stay on tier 1 (the rule set's remainder).</summary>
    [Id(16)] public long FilesUnmatched { get; init; }

    [Id(17)] public long BytesUnmatched { get; init; }

    /// <summary>A few of the files no rule matched.</summary>
    [Id(18)] public string[] UnmatchedSamplePaths { get; init; } = [];
}
