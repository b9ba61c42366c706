using Alto.GrainInterfaces.Common;

namespace Alto.GrainInterfaces.Tiers;

/// <summary>
/// One file's tiering life cycle, keyed by its alto.tier_object id. The row is the grain's state:
/// every call reads it under a row lock, applies one event through the state machine, writes it
/// back with an audit entry, all in one transaction. Illegal moves are refused.
/// </summary>
[Alias("Alto.ITierObjectGrain")]
public interface ITierObjectGrain : IGrainWithIntegerKey
{
    [Alias("GetAsync")]
    Task<TierObjectInfo?> GetAsync();

    /// <summary>Applies one event; a repeat of the event that brought the object where it is changes nothing.</summary>
    [Alias("ApplyAsync")]
    Task<CommandResult<TierObjectInfo>> ApplyAsync(TierEvent change);
}

/// <summary>What happened to a file, as reported by the host grain (dispatch) or the agent (results).</summary>
public enum TierEventKind
{
    Dispatched = 0,
    /// <summary>Uploaded, verified and stubbed: moves through UPLOADING and UPLOADED to STUBBED.</summary>
    Stubbed = 1,
    Skipped = 2,
    Failed = 3,
    Recalling = 4,
    Recalled = 5,
    RecallFailed = 6,
    Abandoned = 7,
    /// <summary>The agent refused to touch the file (recall on open not armed for it): SKIPPED, with the reason.</summary>
    Refused = 8,
}

[GenerateSerializer, Immutable, Alias("Alto.TierEvent")]
public sealed record TierEvent(
    [property: Id(0)] TierEventKind Kind,
    [property: Id(1)] string Actor,
    [property: Id(2)] string? Hash = null,
    [property: Id(3)] string? Locator = null,
    [property: Id(4)] string? Reason = null)
{
    /// <summary>The agent report this event came in (scoped to its host): an object applies a report once, however often it is sent.</summary>
    [Id(5)] public string? ReportId { get; init; }

    /// <summary>The host the event comes from: an object of another host refuses it.</summary>
    [Id(6)] public Guid? HostId { get; init; }
}

[GenerateSerializer, Immutable, Alias("Alto.TierObjectInfo")]
public sealed record TierObjectInfo(
    [property: Id(0)] long Id,
    [property: Id(1)] Guid TenantId,
    [property: Id(2)] Guid HostId,
    [property: Id(3)] long FileCurrentId,
    [property: Id(4)] string FullPath,
    [property: Id(5)] TierState State,
    [property: Id(6)] Guid? RuleId,
    [property: Id(7)] Guid? TargetId,
    [property: Id(8)] Guid? JobId,
    [property: Id(9)] long SizeBytes,
    [property: Id(10)] int Attempts,
    [property: Id(11)] string? LastError,
    [property: Id(12)] string? Hash,
    [property: Id(13)] string? Locator,
    [property: Id(14)] DateTimeOffset? NextAttemptAt,
    [property: Id(15)] DateTimeOffset? ActedAt,
    [property: Id(16)] DateTimeOffset? LastAccessedAt,
    [property: Id(17)] long AccessCount);
