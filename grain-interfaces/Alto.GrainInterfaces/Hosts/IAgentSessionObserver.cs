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

    /// <summary>The host's credential stopped holding (re-enrolled or disabled): end the session now.</summary>
    [Alias("RevokeAsync")]
    Task RevokeAsync(string reason);
}
