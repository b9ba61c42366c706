using System.Text.Json.Serialization;
using Alto.Agent.Stubs;
using Alto.Tiering;

namespace Alto.Agent.Jobs;

/// <summary>One file of a job: its tier object, its path, and what it looked like when it was planned.</summary>
public sealed record JobFile(long TierObjectId, [property: JsonConverter(typeof(RawPathJsonConverter))] string Path, long PlannedSize, long PlannedModifiedUnix)
{
    /// <summary>Set when the tenant encrypts tier 2: the object is encrypted under this key before upload.</summary>
    public ObjectKey? Key { get; init; }
}

/// <summary>A data key for one object: its bytes (kept in memory only) and its wrapped form (stored in the object's header).</summary>
public sealed record ObjectKey(byte[] Key, string Wrapped)
{
    public override string ToString() => "object key";
}

/// <summary>A tiering job as the agent receives it: the tenant, the target (with its secrets, kept in memory only) and its files.</summary>
public sealed record TieringJob(Guid JobId, Guid TenantId, Guid TargetId, TierTarget Target, IReadOnlyList<JobFile> Files);

public enum FileOutcomeKind
{
    /// <summary>Uploaded, verified by reading back, and the file is now a stub.</summary>
    Stubbed = 0,

    /// <summary>Left as it is until the next scan: it changed since it was planned, or is in use.</summary>
    Skipped = 1,

    /// <summary>Left as it is; the attempt failed (for example, tier 2 returned other bytes than were sent).</summary>
    Failed = 2,

    /// <summary>Left as it is; tier 2 could not be reached after retries. The job stays queued.</summary>
    Unavailable = 3,

    /// <summary>Left as it is, not even read: the agent may not make it a stub (recall on open is not armed for it).</summary>
    Refused = 4,

    /// <summary>Left as it is, not started: the job was cancelled by an admin.</summary>
    Cancelled = 5,
}

/// <summary>What became of one file of a job.</summary>
public sealed record FileOutcome(long TierObjectId, FileOutcomeKind Kind, string? Locator = null, string? Sha256 = null, string? Reason = null);
