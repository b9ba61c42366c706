using Alto.GrainInterfaces.Common;

namespace Alto.GrainInterfaces.Hosts;

/// <summary>One file server running an agent. Keyed by host id (a GUID string).</summary>
[Alias("Alto.IHostGrain")]
public interface IHostGrain : IGrainWithStringKey
{
    [Alias("RegisterAsync")]
    Task<CommandResult<HostRegistration>> RegisterAsync(RegisterHost command);

    [Alias("GetAsync")]
    Task<HostInfo?> GetAsync();

    /// <summary>Exchanges the one-time enrollment token for a host credential; the token is spent.</summary>
    [Alias("EnrollAsync")]
    Task<CommandResult<HostEnrollment>> EnrollAsync(EnrollHost command);

    /// <summary>Issues a fresh one-time enrollment token (re-installing an agent, or the old one expired).</summary>
    [Alias("RenewEnrollmentTokenAsync")]
    Task<CommandResult<HostRegistration>> RenewEnrollmentTokenAsync(TimeSpan lifetime);

    /// <summary>The host a credential belongs to, or null when it is not this host's current credential.</summary>
    [Alias("AuthenticateAsync")]
    Task<HostIdentity?> AuthenticateAsync(string credential);

    /// <summary>Records a completed scan: when, and the host's live file count and bytes after it.</summary>
    [Alias("RecordScanAsync")]
    Task RecordScanAsync(DateTimeOffset completedAt, long fileCount, long totalBytes);
}
