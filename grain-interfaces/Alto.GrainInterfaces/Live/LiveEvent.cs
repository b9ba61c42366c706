namespace Alto.GrainInterfaces.Live;

/// <summary>Who of a tenant's people may see an event: everyone who sees the tenant, support and up, or its admins (and platform admins).</summary>
public enum LiveAudience
{
    Everyone = 0,
    Support = 1,
    Managers = 2,
}

/// <summary>
/// Something that happened in a tenant, for the console's live view: its kind, who may see it,
/// and its figures as a JSON object. Events go out on one cluster-wide stream every gateway reads.
/// </summary>
[GenerateSerializer, Immutable, Alias("Alto.LiveEvent")]
public sealed record LiveEvent(
    [property: Id(0)] Guid TenantId,
    [property: Id(1)] string Kind,
    [property: Id(2)] LiveAudience Audience,
    [property: Id(3)] DateTimeOffset At,
    [property: Id(4)] Guid? HostId,
    [property: Id(5)] string Data);

/// <summary>The kinds of live events, as a client sees them in an event's "kind".</summary>
public static class LiveEventKinds
{
    public const string HostStatus = "host.status";
    public const string HostMetrics = "host.metrics";
    public const string ScanProgress = "scan.progress";
    public const string ScanCompleted = "scan.completed";
    public const string PlanCompleted = "plan.completed";
    public const string ApprovalNeeded = "approval.needed";
    public const string JobProgress = "job.progress";
    public const string TierStates = "tier.states";
    public const string Recalls = "recalls";
    public const string Audit = "audit";
    public const string SanitizerFindings = "sanitizer.findings";
}

/// <summary>The stream live events travel on (in the "alto" stream provider).</summary>
public static class LiveStream
{
    public const string Namespace = "live";

    /// <summary>The one stream of every tenant's events (its id: the namespace and this key).</summary>
    public const string Key = "all";
}
