using Alto.GrainInterfaces.Common;

namespace Alto.GrainInterfaces.Hosts;

/// <summary>One file server running an agent. Keyed by host id (a GUID string).</summary>
[Alias("Alto.IHostGrain")]
public interface IHostGrain : IGrainWithStringKey
{
    [Alias("RegisterAsync")]
    Task<CommandResult<HostRegistration>> RegisterAsync(RegisterHost command);

    /// <summary>The host as the API shows it; null when it does not exist. Reads only, so it interleaves (no caller ever waits behind a busy host).</summary>
    [Alias("GetAsync"), Orleans.Concurrency.AlwaysInterleave]
    Task<HostInfo?> GetAsync();

    /// <summary>Exchanges the one-time enrollment token for a host credential; the token is spent.</summary>
    [Alias("EnrollAsync")]
    Task<CommandResult<HostEnrollment>> EnrollAsync(EnrollHost command);

    /// <summary>Issues a fresh one-time enrollment token (re-installing an agent, or the old one expired).</summary>
    [Alias("RenewEnrollmentTokenAsync")]
    Task<CommandResult<HostRegistration>> RenewEnrollmentTokenAsync(TimeSpan lifetime);

    /// <summary>Sets (or with null clears) the LucidLink filespace whose audit trail the agent tails; pushed to a connected agent.</summary>
    [Alias("SetLucidLinkAsync")]
    Task<CommandResult<HostInfo>> SetLucidLinkAsync(LucidLinkVolume? lucidLink);

    /// <summary>Withdraws an enrollment token not used yet.</summary>
    [Alias("RevokeEnrollmentTokenAsync")]
    Task<CommandResult<HostInfo>> RevokeEnrollmentTokenAsync();

    /// <summary>Withdraws the host credential at once (its session ends); the agent needs a new enrollment token.</summary>
    [Alias("RevokeCredentialAsync")]
    Task<CommandResult<HostInfo>> RevokeCredentialAsync();

    /// <summary>
    /// Deletes a host registered by mistake: one holding no credential (never enrolled, or revoked)
    /// that nothing names — no scan, file, tier object, job, host rule or reconciliation run
    /// (otherwise a conflict saying what); with <paramref name="ifMatch"/>, only while its settings
    /// are at one of those revisions.
    /// </summary>
    [Alias("DeleteAsync")]
    Task<CommandResult<HostInfo>> DeleteAsync(string[]? ifMatch = null);

    /// <summary>The host a credential belongs to, or null when it is not this host's current credential.</summary>
    [Alias("AuthenticateAsync")]
    Task<HostIdentity?> AuthenticateAsync(string credential);

    /// <summary>An agent opened a session (after its credential was checked): the host is online, earlier sessions are replaced.</summary>
    [Alias("OpenSessionAsync")]
    Task<SessionStanding> OpenSessionAsync(AgentSession session, string credential, TimeSpan heartbeatTimeout, IAgentSessionObserver observer);

    /// <summary>Replaces the host's volumes and pushes the new configuration to its live session.</summary>
    [Alias("SetVolumesAsync")]
    Task<CommandResult<HostInfo>> SetVolumesAsync(string[] volumes);

    /// <summary>Queues a scan for the agent and delivers it now if the agent is connected.</summary>
    [Alias("RequestScanAsync")]
    Task<CommandResult<CommandReceipt>> RequestScanAsync(string[] paths, string format);

    /// <summary>Queues recalls of the host's stubs (by paths, folder or rule) for its agent; delivered now if it is connected.</summary>
    [Alias("RequestRecallAsync")]
    Task<CommandResult<RecallReceipt>> RequestRecallAsync(RecallSelection selection);

    /// <summary>Queues the listing of a reconciliation run for this host's agent (asked by the run's grain).</summary>
    [Alias("RequestReconcileAsync")]
    Task<CommandResult<CommandReceipt>> RequestReconcileAsync(Guid runId);

    /// <summary>Queues the re-tiering of intact copies on this host of stubs a reconciliation run found lost.</summary>
    [Alias("RequestRestoreAsync")]
    Task<CommandResult<CommandReceipt>> RequestRestoreAsync(Guid runId);

    /// <summary>
    /// Whether the agent connected now reads names that are not UTF-8 when given them escaped
    /// (<see cref="AgentSession.EscapedPathsCapability"/>). A read of the session alone, so it
    /// interleaves: a run asks it while the host grain may be waiting on that run.
    /// </summary>
    [Alias("ReadsEscapedNamesAsync"), Orleans.Concurrency.AlwaysInterleave]
    Task<bool> ReadsEscapedNamesAsync();

    /// <summary>
    /// Whether an agent is connected now that does not read names that are not UTF-8 (an earlier
    /// version): false while none is connected, as the one that comes back may read them. A read of
    /// the session alone, so it interleaves.
    /// </summary>
    [Alias("ConnectedWithoutEscapedNamesAsync"), Orleans.Concurrency.AlwaysInterleave]
    Task<bool> ConnectedWithoutEscapedNamesAsync();

    /// <summary>
    /// Whether the agent connected now answers a census of a Windows host's stubs
    /// (<see cref="AgentSession.WindowsCensusCapability"/>). A read of the session alone, so it interleaves.
    /// </summary>
    [Alias("AnswersWindowsCensusAsync"), Orleans.Concurrency.AlwaysInterleave]
    Task<bool> AnswersWindowsCensusAsync();

    /// <summary>
    /// Queues the census of a reconciliation run for this host's agent: what is at each of the paths
    /// (up to 2,000 per command). Escaped paths (names that are not UTF-8) are queued only for an
    /// agent connected now that takes them (<see cref="AgentSession.EscapedPathsCapability"/>); else Conflict.
    /// </summary>
    [Alias("RequestCensusAsync")]
    Task<CommandResult<CommandReceipt[]>> RequestCensusAsync(Guid runId, string[] paths, bool pathsEscaped);

    /// <summary>The agent acknowledged a command: it leaves the queue; one the agent could not carry out is recorded as failed, with its reason.</summary>
    [Alias("AcknowledgeAsync")]
    Task AcknowledgeAsync(string commandId, bool succeeded, string? failure);

    /// <summary>A heartbeat on a session; the answer says whether the session may go on.</summary>
    [Alias("HeartbeatAsync")]
    Task<SessionStanding> HeartbeatAsync(Guid sessionId, string credential, AgentMetrics metrics);

    /// <summary>The session's stream ended; the host goes offline if it was the current session.</summary>
    [Alias("CloseSessionAsync")]
    Task CloseSessionAsync(Guid sessionId);

    /// <summary>
    /// The agent's outcomes of a job's files, in a report the agent sends until it is acknowledged;
    /// the last report of a job says it is finished. A report applied before changes nothing. A
    /// report naming a job or tier objects that are not this host's is refused whole (audited,
    /// counted): the answer is why, or null when it was applied.
    /// </summary>
    [Alias("RecordJobResultsAsync")]
    Task<string?> RecordJobResultsAsync(string reportId, Guid jobId, Tiers.TierFileResult[] results, bool finished);

    /// <summary>
    /// Stubs the agent recalled (or could not), in one report: each tier object goes RECALLED (or
    /// FAILED) and the file counts as accessed. A report applied before changes nothing; one with a
    /// path outside the host's volumes is refused whole (the answer says why; null when applied).
    /// </summary>
    [Alias("RecordRecallsAsync")]
    Task<string?> RecordRecallsAsync(string reportId, RecallReportItem[] recalls);

    /// <summary>
    /// A report the gateway could not read (it breaks the protocol: a missing id, a path with a
    /// NUL): refused as a report naming what is not this host's is — logged, audited, counted —
    /// and never applied.
    /// </summary>
    [Alias("RefuseMalformedReportAsync")]
    Task RefuseMalformedReportAsync(string kind, string reportId, string reason);

    /// <summary>
    /// Approves jobs that wait for approval (the tenant plans under manual approval): the given
    /// ones, or with null every one of the host's. Jobs of other hosts, or not waiting, are left
    /// alone and not counted. Approved jobs go to the agent like any queued job. Audited with the caller.
    /// </summary>
    [Alias("ApproveJobsAsync")]
    Task<ApprovedJobs> ApproveJobsAsync(Guid[]? jobIds);

    /// <summary>
    /// Declines jobs that wait for approval (the given ones, or with null every one of the host's):
    /// each ends declined with <paramref name="reason"/> and who declined it, and its files are not
    /// planned again for <paramref name="hold"/> (a changed rule does not bring them back sooner).
    /// Jobs of other hosts, or not waiting, are left alone and not counted. Audited with the caller.
    /// </summary>
    [Alias("DeclineJobsAsync")]
    Task<DeclinedJobs> DeclineJobsAsync(Guid[]? jobIds, TimeSpan hold, string? reason);

    /// <summary>
    /// Cancels one of the host's jobs that has not ended. One not sent yet (waiting for approval, or
    /// queued) ends cancelled at once. One the agent has is asked to stop: the files on their way
    /// finish, and it ends cancelled once the agent reports the others not started. Either way the
    /// files not tiered are not planned again for <paramref name="hold"/>. Audited with the caller;
    /// not found for another host's job, a conflict for one that has ended.
    /// </summary>
    [Alias("CancelJobAsync")]
    Task<CommandResult<CancelledJob>> CancelJobAsync(Guid jobId, TimeSpan hold, string? reason);

    /// <summary>Tries the host's abandoned files (all, or below a folder) again: planned afresh with a new count of attempts. Returns how many.</summary>
    [Alias("RetryAbandonedAsync")]
    Task<CommandResult<int>> RetryAbandonedAsync(string? directory);

    /// <summary>Releases the host's held files (declined, or refused by the agent; all, or below a folder) before their pause is over: planned at once. Returns how many.</summary>
    [Alias("ReleaseHeldAsync")]
    Task<CommandResult<int>> ReleaseHeldAsync(string? directory);

    /// <summary>Sends queued jobs (and those whose lease ran out) to the agent, within the host's limits.</summary>
    [Alias("DispatchAsync")]
    Task<int> DispatchAsync();

    /// <summary>Replaces the windows in which the host may send data to tier 2 (none: always), and their time zone.</summary>
    [Alias("SetTransferWindowsAsync")]
    Task<CommandResult<HostInfo>> SetTransferWindowsAsync(TransferWindow[] windows, string timeZone);

    /// <summary>
    /// Changes the host's settings in one call, all checked before any is made and written together; with
    /// <paramref name="ifMatch"/>, only while they are at one of those revisions (<see cref="HostSettings"/>).
    /// </summary>
    [Alias("UpdateSettingsAsync")]
    Task<CommandResult<HostInfo>> UpdateSettingsAsync(HostSettingsChange change, string[]? ifMatch = null);

    /// <summary>Sets or clears (null) the host's bandwidth limit.</summary>
    [Alias("SetBandwidthLimitAsync")]
    Task<CommandResult<HostInfo>> SetBandwidthLimitAsync(long? bytesPerSecond);

    /// <summary>The host's inventory grain finished a real plan: remembered, and queued jobs go to a connected agent.</summary>
    [Alias("PlanCompletedAsync"), Orleans.Concurrency.OneWay]
    Task PlanCompletedAsync(DateTimeOffset plannedAt);

    /// <summary>Records a completed scan: when, and the host's live file count and bytes after it; then has the host planned.</summary>
    [Alias("RecordScanAsync")]
    Task RecordScanAsync(DateTimeOffset completedAt, long fileCount, long totalBytes);
}
