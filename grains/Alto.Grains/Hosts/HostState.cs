using Alto.GrainInterfaces.Hosts;

namespace Alto.Grains.Hosts;

[GenerateSerializer, Alias("Alto.HostState")]
public sealed class HostState : Persistence.IHoldsAudit
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public Guid TenantId { get; set; }
    [Id(2)] public string Name { get; set; } = "";
    [Id(3)] public HostOs Os { get; set; }
    [Id(4)] public string[] Volumes { get; set; } = [];
    [Id(5)] public HostStatus Status { get; set; }
    /// <summary>SHA-256 of the one-time enrollment token; the token itself is never stored.</summary>
    [Id(6)] public byte[]? EnrollmentTokenHash { get; set; }
    [Id(7)] public DateTimeOffset? EnrollmentExpiresAt { get; set; }
    /// <summary>SHA-256 of the host credential issued at enrollment.</summary>
    [Id(8)] public byte[]? CredentialHash { get; set; }
    [Id(9)] public DateTimeOffset CreatedAt { get; set; }
    [Id(10)] public DateTimeOffset UpdatedAt { get; set; }
    /// <summary>SHA-256 of the last token used to enroll, so its reuse is told apart from a wrong token.</summary>
    [Id(11)] public byte[]? UsedEnrollmentTokenHash { get; set; }
    [Id(12)] public DateTimeOffset? EnrolledAt { get; set; }
    [Id(13)] public string? AgentVersion { get; set; }
    [Id(14)] public DateTimeOffset? LastScanAt { get; set; }
    [Id(15)] public long FileCount { get; set; }
    [Id(16)] public long TotalBytes { get; set; }
    /// <summary>Commands an earlier version queued here; moved to alto.agent_command at activation, empty after.</summary>
    [Id(17)] public List<AgentCommand> PendingCommands { get; set; } = [];
    [Id(18)] public long? BandwidthLimitBytesPerSecond { get; set; }
    [Id(20)] public TransferWindow[] TransferWindows { get; set; } = [];
    [Id(21)] public string TimeZone { get; set; } = "UTC";
    [Id(22)] public LucidLinkVolume? LucidLink { get; set; }

    /// <summary>
    /// A credential was issued but the agent has not used it yet (it may not have been able to
    /// store it): until it does, the same enrollment token may be redeemed again by this host.
    /// </summary>
    [Id(23)] public bool CredentialUnconfirmed { get; set; }

    /// <summary>Audit entries of stored changes not yet known to be in the audit log (see <see cref="Persistence.FollowUps"/>).</summary>
    [Id(24)] public List<Audit.UnrecordedAudit> UnrecordedAudit { get; set; } = [];
}
