namespace Alto.GrainInterfaces.Reconcile;

/// <summary>How closely a run looks at each object.</summary>
public enum ReconcileDepth
{
    /// <summary>Names and sizes from the listing only.</summary>
    List = 0,
    /// <summary>Also the SHA-256 the store keeps in the object's metadata (one request per object).</summary>
    Head = 1,
    /// <summary>Also the object's bytes, read and hashed again (a sample, or all of them).</summary>
    Deep = 2,
}

/// <summary>What a reconciliation of one storage target is asked to do.</summary>
[GenerateSerializer, Immutable, Alias("Alto.ReconcileOrder")]
public sealed record ReconcileOrder(
    [property: Id(0)] Guid TargetId,
    [property: Id(1)] ReconcileDepth Depth,
    [property: Id(2)] int SamplePercent,
    [property: Id(3)] int RequestsPerSecond,
    [property: Id(4)] string Actor,
    [property: Id(5)] bool AllowMassLoss = false,
    [property: Id(6)] bool? ReclaimOrphans = null)
{
    public const int DefaultRequestsPerSecond = 200;
}

/// <summary>One run as the API and the listing agent see it.</summary>
[GenerateSerializer, Immutable, Alias("Alto.ReconcileRunInfo")]
public sealed record ReconcileRunInfo(
    [property: Id(0)] Guid RunId,
    [property: Id(1)] Guid TenantId,
    [property: Id(2)] Guid TargetId,
    [property: Id(3)] Guid? HostId,
    [property: Id(4)] ReconcileDepth Depth,
    [property: Id(5)] int SamplePercent,
    [property: Id(6)] int RequestsPerSecond,
    [property: Id(7)] string Status,
    [property: Id(8)] string? CursorKey,
    [property: Id(9)] long ObjectsListed,
    [property: Id(10)] long ObjectsChecked,
    [property: Id(11)] IReadOnlyDictionary<string, long> Counts,
    [property: Id(12)] string? Error,
    [property: Id(13)] DateTimeOffset StartedAt,
    [property: Id(14)] DateTimeOffset? FinishedAt,
    [property: Id(15)] bool AllowMassLoss = false,
    [property: Id(16)] int OrphanGraceDays = Tenants.TenantDefaults.OrphanGraceDays,
    [property: Id(17)] bool ReclaimOrphans = false,
    [property: Id(18)] DateTimeOffset? ReclaimBefore = null)
{
    public const string Listing = "listing";
    public const string Census = "census";
    public const string Reclaiming = "reclaiming";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    /// <summary>Whether a run in <paramref name="status"/> is still going (listing, taking its census, or deleting orphans).</summary>
    public static bool IsGoing(string status) => status is Listing or Census or Reclaiming;
}

/// <summary>
/// The next part of a run's listing as the agent sent it, packed (Alto.Scanning's
/// ListingPartFormat: its objects in key order after the run's cursor, whether it is the last,
/// or why the agent gave up). The gateway hands the bytes on; the run's grain reads and checks them.
/// </summary>
[GenerateSerializer, Immutable, Alias("Alto.ReconcileListingPacked")]
public sealed record ReconcileListing([property: Id(0)] byte[] Packed);

/// <summary>The run's answer to a part: its cursor now, whether the part had been taken before, and the run's status.</summary>
[GenerateSerializer, Immutable, Alias("Alto.ReconcileListingReceipt")]
public sealed record ReconcileListingReceipt(
    [property: Id(0)] string? Cursor,
    [property: Id(1)] bool Duplicate,
    [property: Id(2)] string Status);

/// <summary>What an agent found at a path the census asked about.</summary>
[GenerateSerializer, Immutable, Alias("Alto.StubFact")]
public sealed record StubFact(
    [property: Id(0)] string Path,
    [property: Id(1)] string Found,
    [property: Id(2)] string? Locator,
    [property: Id(3)] string? Sha256,
    [property: Id(4)] Guid? TargetId,
    [property: Id(5)] string? Detail)
{
    /// <summary>Whether <see cref="Path"/> is escaped (a name that is not valid UTF-8), as the census asked it.</summary>
    [Id(6)] public bool PathEscaped { get; init; }

    public const string Absent = "absent";
    public const string File = "file";
    public const string Stub = "stub";
    public const string Unreadable = "unreadable";
    public const int MaxPerReport = 2_000;

    public static readonly string[] Kinds = [Absent, File, Stub, Unreadable];
}

/// <summary>The run's answer to a census report: how many paths of the run still wait for an answer, and its status.</summary>
[GenerateSerializer, Immutable, Alias("Alto.CensusReceipt")]
public sealed record CensusReceipt(
    [property: Id(0)] int Taken,
    [property: Id(1)] long Pending,
    [property: Id(2)] string Status);

/// <summary>The orphans a run's listing agent is to delete next: each only if the store shows it unmodified since <see cref="Before"/>.</summary>
[GenerateSerializer, Immutable, Alias("Alto.ReclaimOrder")]
public sealed record ReclaimOrder(
    [property: Id(0)] DateTimeOffset Before,
    [property: Id(1)] string[] Keys,
    [property: Id(2)] string Status)
{
    public const int MaxKeys = 1_000;
}

/// <summary>What the agent did with one orphan: deleted, kept as modified since the cut-off (newer), found gone (absent), or could not delete (failed).</summary>
[GenerateSerializer, Immutable, Alias("Alto.ReclaimResult")]
public sealed record ReclaimResult(
    [property: Id(0)] string Key,
    [property: Id(1)] string Outcome,
    [property: Id(2)] string? Detail)
{
    public const string Deleted = "deleted";
    public const string Newer = "newer";
    public const string Absent = "absent";
    public const string Failed = "failed";

    public static readonly string[] Outcomes = [Deleted, Newer, Absent, Failed];
}

/// <summary>The run's answer to a reclaim report: how many orphans it still waits for, and its status.</summary>
[GenerateSerializer, Immutable, Alias("Alto.ReclaimReceipt")]
public sealed record ReclaimReceipt(
    [property: Id(0)] int Taken,
    [property: Id(1)] long Pending,
    [property: Id(2)] string Status);

/// <summary>A lost stub's content to re-tier from an intact copy on the asking host: the file, what it must hash to, and where it goes.</summary>
[GenerateSerializer, Immutable, Alias("Alto.RestoreItem")]
public sealed record RestoreItem(
    [property: Id(0)] long TierObjectId,
    [property: Id(1)] string Path,
    [property: Id(2)] string Sha256,
    [property: Id(3)] long SizeBytes,
    [property: Id(4)] Guid TargetId,
    [property: Id(5)] string Locator)
{
    /// <summary>Whether <see cref="Path"/> is escaped (a name that is not valid UTF-8), as the inventory holds it.</summary>
    [Id(6)] public bool PathEscaped { get; init; }
}

/// <summary>What the copy's agent did: restored (uploaded to the locator), mismatch (the file no longer holds that content), or failed.</summary>
[GenerateSerializer, Immutable, Alias("Alto.RestoreResult")]
public sealed record RestoreResult(
    [property: Id(0)] long TierObjectId,
    [property: Id(1)] string Outcome,
    [property: Id(2)] string? Detail)
{
    public const string Restored = "restored";
    public const string Mismatch = "mismatch";
    public const string Failed = "failed";
    public const int MaxPerReport = 1_000;

    public static readonly string[] Outcomes = [Restored, Mismatch, Failed];
}

/// <summary>How many results were taken, and how many re-tiers of the run still wait on this host.</summary>
[GenerateSerializer, Immutable, Alias("Alto.RestoreReceipt")]
public sealed record RestoreReceipt(
    [property: Id(0)] int Taken,
    [property: Id(1)] long Pending);

/// <summary>How often a target is reconciled on its own, and how.</summary>
[GenerateSerializer, Immutable, Alias("Alto.ReconcileSchedule")]
public sealed record ReconcileSchedule(
    [property: Id(0)] int EveryHours,
    [property: Id(1)] ReconcileDepth Depth,
    [property: Id(2)] int SamplePercent,
    [property: Id(3)] int RequestsPerSecond)
{
    public const int MaxEveryHours = 2160;
}

/// <summary>A target's schedule with what its last tick did.</summary>
[GenerateSerializer, Immutable, Alias("Alto.ReconcileScheduleInfo")]
public sealed record ReconcileScheduleInfo(
    [property: Id(0)] Guid TargetId,
    [property: Id(1)] ReconcileSchedule Schedule,
    [property: Id(2)] Guid? LastRunId,
    [property: Id(3)] DateTimeOffset? LastTickAt,
    [property: Id(4)] string? LastOutcome);
