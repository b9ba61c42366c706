namespace Alto.Grains.Reconcile;

/// <summary>A stubbed file whose tier-2 object a run found absent, short or damaged.</summary>
public sealed record MissingObject(long TierObjectId, Guid HostId, string Path, string Locator, string Kind, string Detail);

/// <summary>An object of the target no record references.</summary>
public sealed record OrphanObject(string Key, long Length, DateTimeOffset? Modified, string? Problem);

/// <summary>The paths a census asks one host about: names in UTF-8, and names that are not, escaped as the inventory holds them.</summary>
public sealed record CensusPaths(string[] Plain, string[] Escaped);

/// <summary>What the census found at a path that does not agree with the records (<see cref="Record"/> null: a stub no record knows).</summary>
public sealed record DriftItem(Guid HostId, string Path, long? Record, string Found, string? Locator, string? Sha256, string? Detail, string? RecordLocator, string? RecordHash);

/// <summary>A LOST record whose object a run found whole again.</summary>
public sealed record FoundObject(long TierObjectId, Guid HostId, string Path);

/// <summary>What a run found, kept as rows of alto.reconcile_finding; <see cref="Reclaim"/> is "pending" for an orphan the run is to delete.</summary>
public sealed record ReconcileFinding(string Class, string Kind, string? ObjectKey, long? TierObjectId, Guid? HostId, string? Path, string Detail, string Repair,
    string? Reclaim = null);

/// <summary>Where an orphan a run set out to delete stands (alto.reconcile_finding.reclaim).</summary>
public static class ReconcileReclaimStates
{
    public const string Pending = "pending";
    public const string Deleted = "deleted";
    public const string Kept = "kept";
}

/// <summary>How a part of a listing fared against the run's cursor.</summary>
public enum ListingPartOutcome
{
    Appended = 0,
    /// <summary>Taken before (the agent sent it again after a lost answer): nothing changed.</summary>
    Duplicate = 1,
    /// <summary>Does not follow the cursor: the agent must resume after it.</summary>
    OutOfOrder = 2,
    /// <summary>The run is no longer listing.</summary>
    Ended = 3,
}
