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
