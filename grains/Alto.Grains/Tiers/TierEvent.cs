using Alto.GrainInterfaces.Tiers;

namespace Alto.Grains.Tiers;

/// <summary>What happened to a file, as the host grain saw it (dispatch) or the agent reported it (results, recalls).</summary>
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
    /// <summary>The last allowed attempt failed: given up, the original stays on tier 1.</summary>
    Abandoned = 7,
    /// <summary>The agent refused to touch the file (recall on open not armed for it): SKIPPED, with the reason.</summary>
    Refused = 8,
    /// <summary>A reconciliation found the stub's tier-2 object gone or damaged: LOST, with what is wrong.</summary>
    Lost = 9,
    /// <summary>A reconciliation found a LOST object whole again: STUBBED.</summary>
    Found = 10,
    /// <summary>An admin asks for an abandoned file to be tried again (the cause fixed): SKIPPED, planned afresh with a new count of attempts.</summary>
    Retried = 11,
    /// <summary>A tenant admin declined the waiting job of a planned file: SKIPPED, and not planned again before <see cref="TierEvent.Hold"/> is over.</summary>
    Declined = 12,
    /// <summary>An admin releases a held file (declined, or refused by the agent) before its pause is over: still SKIPPED, planned at the next plan.</summary>
    Released = 13,
    /// <summary>
    /// A file of a cancelled job that was not tiered (not sent yet, or reported not started by the
    /// agent): SKIPPED, and not planned again before <see cref="TierEvent.Hold"/> is over.
    /// </summary>
    Cancelled = 14,
}

/// <summary>One event for one tier object, with who reported it and what it carries.</summary>
public sealed record TierEvent(TierEventKind Kind, string Actor, string? Hash = null, string? Locator = null, string? Reason = null)
{
    /// <summary>The agent report this event came in (scoped to its host): an object applies a report once, however often it is sent.</summary>
    public string? ReportId { get; init; }

    /// <summary>How long a declined file, or one of a cancelled job, is kept from planning.</summary>
    public TimeSpan? Hold { get; init; }
}

/// <summary>An event for one tier object, as a batch carries it.</summary>
public sealed record TierChange(long TierObjectId, TierEvent Event);

/// <summary>What one change of a batch came to: the object after it (unchanged for a repeat), or why it was refused.</summary>
public sealed record TierChangeOutcome(long TierObjectId, TierObjectInfo? After, string? Refusal)
{
    public bool Applied => Refusal is null;
}

/// <summary>A tier object as the API and tests see it.</summary>
public sealed record TierObjectInfo(
    long Id, Guid TenantId, Guid HostId, long FileCurrentId, string FullPath, TierState State, Guid? RuleId, Guid? TargetId, Guid? JobId,
    long SizeBytes, int Attempts, string? LastError, string? Hash, string? Locator, DateTimeOffset? NextAttemptAt, DateTimeOffset? ActedAt,
    DateTimeOffset? LastAccessedAt, long AccessCount);
