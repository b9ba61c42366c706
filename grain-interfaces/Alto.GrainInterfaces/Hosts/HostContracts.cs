namespace Alto.GrainInterfaces.Hosts;

public enum HostOs
{
    Linux = 0,
    Windows = 1,
}

public enum HostStatus
{
    /// <summary>Registered; waiting for its agent to enroll with the one-time token.</summary>
    Registered = 0,
    Enrolled = 1,
    Online = 2,
    Offline = 3,
    Disabled = 4,
}

[GenerateSerializer, Immutable, Alias("Alto.HostInfo")]
public sealed record HostInfo(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid TenantId,
    [property: Id(2)] string Name,
    [property: Id(3)] HostOs Os,
    [property: Id(4)] string[] Volumes,
    [property: Id(5)] HostStatus Status,
    [property: Id(6)] DateTimeOffset? EnrollmentExpiresAt,
    [property: Id(7)] DateTimeOffset CreatedAt,
    [property: Id(8)] DateTimeOffset UpdatedAt)
{
    [Id(9)] public DateTimeOffset? LastScanAt { get; init; }

    [Id(10)] public long FileCount { get; init; }

    [Id(11)] public long TotalBytes { get; init; }

    [Id(12)] public DateTimeOffset? LastHeartbeatAt { get; init; }

    [Id(13)] public string? AgentVersion { get; init; }

    [Id(14)] public AgentMetrics? LatestMetrics { get; init; }

    /// <summary>Which gateway holds the agent's stream while it is online.</summary>
    [Id(15)] public string? Gateway { get; init; }

    /// <summary>Commands waiting for the agent to acknowledge them.</summary>
    [Id(16)] public int PendingCommands { get; init; }

    /// <summary>Most bytes per second the agent may send to tier 2; null for no limit. Transfer estimates use it.</summary>
    [Id(17)] public long? BandwidthLimitBytesPerSecond { get; init; }

    /// <summary>When a plan (not a dry run) last completed for this host since its grain was activated.</summary>
    [Id(18)] public DateTimeOffset? LastPlannedAt { get; init; }

    /// <summary>When the host may send data to tier 2 (none: always), in <see cref="TimeZone"/>.</summary>
    [Id(19)] public TransferWindow[] TransferWindows { get; init; } = [];

    [Id(20)] public string TimeZone { get; init; } = "UTC";

    /// <summary>The LucidLink filespace whose audit trail the agent tails, or null.</summary>
    [Id(21)] public LucidLinkVolume? LucidLink { get; init; }

    /// <summary>A credential was issued but never used yet: the enrollment token may still be redeemed again by this host.</summary>
    [Id(22)] public bool CredentialUnconfirmed { get; init; }
}

[GenerateSerializer, Immutable, Alias("Alto.RegisterHost")]
public sealed record RegisterHost(
    [property: Id(0)] Guid TenantId,
    [property: Id(1)] string Name,
    [property: Id(2)] HostOs Os,
    [property: Id(3)] string[] Volumes,
    [property: Id(4)] TimeSpan EnrollmentTokenLifetime);

/// <summary>The registered host and its one-time enrollment token, shown once and stored only as a hash.</summary>
[GenerateSerializer, Immutable, Alias("Alto.HostRegistration")]
public sealed record HostRegistration(
    [property: Id(0)] HostInfo Host,
    [property: Id(1)] string EnrollmentToken);

[GenerateSerializer, Immutable, Alias("Alto.EnrollHost")]
public sealed record EnrollHost(
    [property: Id(0)] string EnrollmentToken,
    [property: Id(1)] string AgentVersion,
    [property: Id(2)] string MachineName);

/// <summary>The host credential, returned once to the enrolling agent and stored only as a hash.</summary>
[GenerateSerializer, Immutable, Alias("Alto.HostEnrollment")]
public sealed record HostEnrollment(
    [property: Id(0)] Guid HostId,
    [property: Id(1)] Guid TenantId,
    [property: Id(2)] string Credential);

/// <summary>Who a valid host credential belongs to.</summary>
[GenerateSerializer, Immutable, Alias("Alto.HostIdentity")]
public sealed record HostIdentity(
    [property: Id(0)] Guid HostId,
    [property: Id(1)] Guid TenantId);

/// <summary>An agent's live session, as its gateway reports it to the host grain.</summary>
[GenerateSerializer, Immutable, Alias("Alto.AgentSession")]
public sealed record AgentSession(
    [property: Id(0)] Guid SessionId,
    [property: Id(1)] string Gateway,
    [property: Id(2)] string AgentVersion,
    [property: Id(3)] string Os,
    [property: Id(4)] string[] Capabilities,
    [property: Id(5)] DateTimeOffset ConnectedAt)
{
    /// <summary>The capability of an agent that reads names that are not UTF-8 given escaped: a census's escaped paths (apart from its others), a re-tier's copy.</summary>
    public const string EscapedPathsCapability = "paths:escaped";

    /// <summary>The capability of a Windows agent that answers a census of its stubs (through its stub driver); a Linux agent always does.</summary>
    public const string WindowsCensusCapability = "census:windows";
}

[GenerateSerializer, Immutable, Alias("Alto.VolumeSpace")]
public sealed record VolumeSpace(
    [property: Id(0)] string Path,
    [property: Id(1)] long FreeBytes,
    [property: Id(2)] long TotalBytes)
{
    /// <summary>Opens of stubs below the volume are recalled (and survive an agent restart): only then are its files tiered.</summary>
    [Id(3)] public bool RecallArmed { get; init; }

    /// <summary>Why recall is not armed for the volume, as the agent says.</summary>
    [Id(4)] public string? RecallReason { get; init; }
}

/// <summary>What an agent reports with each heartbeat.</summary>
[GenerateSerializer, Immutable, Alias("Alto.AgentMetrics")]
public sealed record AgentMetrics(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] double CpuPercent,
    [property: Id(2)] VolumeSpace[] Volumes,
    [property: Id(3)] int QueueDepth,
    [property: Id(4)] long RecallsTotal,
    [property: Id(5)] long RecallsFailed)
{
    /// <summary>The agent's recall group outlives the agent process (a recall guard keeps it).</summary>
    [Id(6)] public bool RecallSurvivesRestart { get; init; }

    /// <summary>Why recall is not armed at all, or would not outlive the agent process; null when all is well.</summary>
    [Id(7)] public string? RecallProblem { get; init; }

    /// <summary>Opens refused (EPERM) because the file's stub markers were not its own or the cluster's record contradicted them.</summary>
    [Id(8)] public long RecallsRefused { get; init; }

    /// <summary>How the host's LucidLink audit trail is followed; null when it has none.</summary>
    [Id(9)] public LucidTrailMetrics? LucidLinkTrail { get; init; }

    /// <summary>
    /// Files the agent's journal keeps unsettled: a stubbing or recall cut short on a file the agent
    /// may not write now (immutable, on a volume mounted read-only). Each is settled at the agent's next start.
    /// </summary>
    [Id(10)] public int OperationsUnsettled { get; init; }

    /// <summary>Which files wait to be settled and why, as the agent says; null when none.</summary>
    [Id(11)] public string? UnsettledProblem { get; init; }

    /// <summary>Opens of stubs waiting for their recall to start: the agent recalls a few at once (run --recalls-at-once).</summary>
    [Id(12)] public int RecallsWaiting { get; init; }
}

/// <summary>
/// A LucidLink audit trail as the agent follows it: events the gateway took, lines refused
/// (quarantined, or overflowing a full quarantine), duplicates dropped, and how far behind the
/// newest applied event is.
/// </summary>
[GenerateSerializer, Immutable, Alias("Alto.LucidTrailMetrics")]
public sealed record LucidTrailMetrics(
    [property: Id(0)] long EventsApplied,
    [property: Id(1)] long LinesMalformed,
    [property: Id(2)] long LinesDuplicate,
    [property: Id(3)] int LinesQuarantined,
    [property: Id(4)] long QuarantineOverflow,
    [property: Id(5)] DateTimeOffset? NewestAppliedEvent,
    [property: Id(6)] string? Problem)
{
    /// <summary>Seconds from the newest applied event to the heartbeat that reported it; null before any was applied.</summary>
    [Id(7)] public double? LagSeconds { get; init; }
}

/// <summary>One recall the agent reports: a stub of the host brought back (or not) on access or on command.</summary>
[GenerateSerializer, Immutable, Alias("Alto.RecallReportItem")]
public sealed record RecallReportItem(
    [property: Id(0)] string Path,
    [property: Id(1)] bool Succeeded,
    [property: Id(2)] long DurationMs,
    [property: Id(3)] string? Failure)
{
    /// <summary>Whether <see cref="Path"/> is escaped (a name that is not valid UTF-8), as the inventory holds it.</summary>
    [Id(4)] public bool PathEscaped { get; init; }
}

public enum SessionStanding
{
    /// <summary>This session is the host's current one.</summary>
    Current = 0,
    /// <summary>A newer session of the same host took over: end this one.</summary>
    Replaced = 1,
    /// <summary>The host's credential no longer holds (re-enrolled or disabled): end this one.</summary>
    Revoked = 2,
    /// <summary>The grain does not know this session (it was restarted, for example on another silo): the agent reconnects.</summary>
    Unknown = 3,
}

public enum AgentCommandKind
{
    Scan = 0,
    /// <summary>Bring these stubs' data back (Paths); the agent reports each as a recall.</summary>
    Recall = 1,
    /// <summary>List a storage target for a reconciliation run (RunId), resuming after the run's cursor.</summary>
    Reconcile = 2,
    /// <summary>Say what is at these paths (Paths) for a reconciliation run (RunId): nothing, a real file, or a stub and its markers.</summary>
    Census = 3,
    /// <summary>Re-tier intact copies of lost stubs' content for a reconciliation run (RunId): hash each file, upload it if it still matches.</summary>
    Restore = 4,
}

/// <summary>What to recall: some paths, everything below a folder, or everything a rule tiered. Exactly one is set.</summary>
[GenerateSerializer, Immutable, Alias("Alto.RecallSelection")]
public sealed record RecallSelection(
    [property: Id(0)] string[]? Paths,
    [property: Id(1)] string? Directory,
    [property: Id(2)] Guid? RuleId);

/// <summary>A recall on command: how many stubs it covers and how it reached the agent.</summary>
[GenerateSerializer, Immutable, Alias("Alto.RecallReceipt")]
public sealed record RecallReceipt(
    [property: Id(0)] int Files,
    [property: Id(1)] int Commands,
    [property: Id(2)] bool Delivered,
    [property: Id(3)] string[] CommandIds);

/// <summary>A command for a host's agent, queued by its host grain until the agent acknowledges it.</summary>
[GenerateSerializer, Immutable, Alias("Alto.AgentCommand")]
public sealed record AgentCommand(
    [property: Id(0)] string Id,
    [property: Id(1)] AgentCommandKind Kind,
    [property: Id(2)] string[] Paths,
    [property: Id(3)] string Format,
    [property: Id(4)] DateTimeOffset IssuedAt,
    [property: Id(5)] Guid? RunId = null)
{
    /// <summary>The <see cref="Format"/> of a recall or census whose paths are escaped (names that are not UTF-8, as a scan reports them).</summary>
    public const string EscapedPaths = "escaped";
}

/// <summary>What the host grain says about a command it was given.</summary>
[GenerateSerializer, Immutable, Alias("Alto.CommandReceipt")]
public sealed record CommandReceipt(
    [property: Id(0)] string CommandId,
    [property: Id(1)] bool Delivered,
    [property: Id(2)] int Pending);

/// <summary>A LucidLink filespace mounted on the host: its root (where .lucid_audit lives) and how often the agent reads the trail.</summary>
[GenerateSerializer, Immutable, Alias("Alto.LucidLinkVolume")]
public sealed record LucidLinkVolume(
    [property: Id(0)] string FilespaceRoot,
    [property: Id(1)] int PollSeconds)
{
    public const int DefaultPollSeconds = 300;
    public const int DefaultFullScanDays = 30;

    /// <summary>Hybrid mode: besides tailing the trail, a full scan of the host when its last one is this many days old.</summary>
    [Id(2)] public int FullScanDays { get; init; } = DefaultFullScanDays;

    /// <summary>Whether a full scan is due: never scanned, or the last one is at least <see cref="FullScanDays"/> old.</summary>
    public bool FullScanDue(DateTimeOffset? lastScanAt, DateTimeOffset now) =>
        lastScanAt is not { } last || now - last >= TimeSpan.FromDays(FullScanDays);
}

/// <summary>What an approval let go: the jobs, and their files and bytes.</summary>
[GenerateSerializer, Immutable, Alias("Alto.ApprovedJobs")]
public sealed record ApprovedJobs(
    [property: Id(0)] Guid[] JobIds,
    [property: Id(1)] long Files,
    [property: Id(2)] long Bytes);

/// <summary>What a decline stopped: the jobs, and their files and bytes, held back from planning until <see cref="HeldUntil"/>.</summary>
[GenerateSerializer, Immutable, Alias("Alto.DeclinedJobs")]
public sealed record DeclinedJobs(
    [property: Id(0)] Guid[] JobIds,
    [property: Id(1)] long Files,
    [property: Id(2)] long Bytes)
{
    [Id(3)] public DateTimeOffset? HeldUntil { get; init; }
}

/// <summary>
/// A job cancelled: <see cref="Status"/> "cancelled" when it ended at once (its files held until
/// <see cref="HeldUntil"/>), "cancelling" while the agent finishes the files on their way.
/// </summary>
[GenerateSerializer, Immutable, Alias("Alto.CancelledJob")]
public sealed record CancelledJob(
    [property: Id(0)] Guid JobId,
    [property: Id(1)] string Status,
    [property: Id(2)] long FilesHeld,
    [property: Id(3)] DateTimeOffset HeldUntil);

/// <summary>
/// A change of what an admin sets on a host, applied in one grain call (null members are left as
/// they are): a bandwidth limit of 0 removes the limit; with <see cref="ChangesLucidLink"/> the
/// LucidLink filespace is set to <see cref="LucidLink"/>, null turning tailing off.
/// </summary>
[GenerateSerializer, Immutable, Alias("Alto.HostSettingsChange")]
public sealed record HostSettingsChange(
    [property: Id(0)] string[]? Volumes,
    [property: Id(1)] long? BandwidthLimitBytesPerSecond,
    [property: Id(2)] TransferWindow[]? TransferWindows,
    [property: Id(3)] string? TimeZone,
    [property: Id(4)] bool ChangesLucidLink,
    [property: Id(5)] LucidLinkVolume? LucidLink,
    [property: Id(6)] string? Name = null);

/// <summary>
/// What an admin sets on a host, and so what its revision (the ETag of a read) covers: its
/// heartbeats, counts and status change without an admin and would refuse every If-Match.
/// </summary>
public sealed record HostSettings(
    string Name, string[] Volumes, long? BandwidthLimitBytesPerSecond, TransferWindow[] TransferWindows, string TimeZone, LucidLinkVolume? LucidLink)
{
    public static HostSettings Of(HostInfo host) =>
        new(host.Name, host.Volumes, host.BandwidthLimitBytesPerSecond, host.TransferWindows, host.TimeZone, host.LucidLink);
}
