namespace Alto.GrainInterfaces.Hosts;

/// <summary>
/// The gateway end of an agent's live session. The host grain keeps the current session's
/// observer and hands it commands; the gateway writes them down the agent's stream. If the
/// gateway is gone the call fails and the command simply stays queued for the next session.
/// </summary>
[Alias("Alto.IAgentSessionObserver")]
public interface IAgentSessionObserver : IGrainObserver
{
    [Alias("DeliverAsync")]
    Task DeliverAsync(AgentCommand command);

    /// <summary>Send a tiering job (with its target's secrets) down the stream; nothing of it is stored on the way.</summary>
    [Alias("DeliverJobAsync")]
    Task DeliverJobAsync(Tiers.TierJobPayload job);

    /// <summary>An admin cancelled a job the agent has: it stops starting the job's files (those on their way finish).</summary>
    [Alias("CancelJobAsync")]
    Task CancelJobAsync(Guid jobId);

    /// <summary>The host's settings changed: send the agent its new configuration (a bandwidth limit of 0 is none).</summary>
    [Alias("ConfigureAsync")]
    Task ConfigureAsync(string[] volumes, long bandwidthLimitBytesPerSecond, LucidLinkVolume? lucidLink);

    /// <summary>
    /// End the session now: its credential stopped holding (re-enrolled or disabled), or a newer
    /// session of the same host replaced it.
    /// </summary>
    /// <remarks>One-way: a gateway that died with its sessions must not hold up the grain.</remarks>
    [Alias("EndAsync"), Orleans.Concurrency.OneWay]
    Task EndAsync(SessionStanding standing, string reason);
}
