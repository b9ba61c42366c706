using System.Collections.Concurrent;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tiers;
using Alto.TestSupport;

namespace Alto.Gateway.Tests;

/// <summary>The gateway's side of an agent's session, played at the host grain (as the gRPC service does): records the commands the host sends.</summary>
public sealed class StandInSession : IAgentSessionObserver
{
    public ConcurrentQueue<AgentCommand> Commands { get; } = new();

    public Task DeliverAsync(AgentCommand command)
    {
        Commands.Enqueue(command);
        return Task.CompletedTask;
    }

    public Task DeliverJobAsync(TierJobPayload job) => Task.CompletedTask;

    public Task CancelJobAsync(Guid jobId) => Task.CompletedTask;

    public Task ConfigureAsync(string[] volumes, long bandwidthLimitBytesPerSecond, LucidLinkVolume? lucidLink) => Task.CompletedTask;

    private volatile Tuple<SessionStanding, string>? _ended;

    /// <summary>How the host ended the session, once it has (a one-way call: it may come a moment after the call that ended it).</summary>
    public (SessionStanding Standing, string Reason)? Ended => _ended is { } ended ? (ended.Item1, ended.Item2) : null;

    public Task EndAsync(SessionStanding standing, string reason)
    {
        _ended = Tuple.Create(standing, reason);
        return Task.CompletedTask;
    }
}

/// <summary>Stand-in sessions a test opened, closed when it ends.</summary>
public sealed class StandInSessions(IClusterClient cluster)
{
    // The sessions are held here too: the cluster holds an observer weakly, and one collected would leave the host's calls waiting until they time out.
    private readonly List<(IHostGrain Host, Guid SessionId, IAgentSessionObserver Reference, StandInSession Session)> _opened = [];

    /// <summary>
    /// Opens a session for the host and heartbeats once: the host is online, and its commands reach
    /// the stand-in. Its capabilities are those of this version's agent unless given.
    /// </summary>
    public async Task<StandInSession> ConnectAsync(PlannedHost host, string os = "linux", string[]? capabilities = null)
    {
        var grain = cluster.GetGrain<IHostGrain>(host.HostId.ToString());
        var session = new StandInSession();
        var reference = cluster.CreateObjectReference<IAgentSessionObserver>(session);
        var sessionId = Guid.NewGuid();
        _opened.Add((grain, sessionId, reference, session));
        Assert.Equal(SessionStanding.Current, await grain.OpenSessionAsync(
            new AgentSession(sessionId, "test-gateway", "1.0", os, capabilities ?? ["scan:csv", "scan:parquet", AgentSession.EscapedPathsCapability], DateTimeOffset.UtcNow),
            host.Credential, TimeSpan.FromMinutes(5), reference));
        Assert.Equal(SessionStanding.Current, await grain.HeartbeatAsync(sessionId, host.Credential, PlanningWorld.ArmedMetrics(os == "linux" ? "/lucid" : @"C:\Data")));
        return session;
    }

    /// <summary>Ends the session as its agent going away does.</summary>
    public async Task DisconnectAsync(StandInSession session)
    {
        var (host, sessionId, reference, _) = _opened.Single(opened => opened.Session == session);
        await host.CloseSessionAsync(sessionId);
        cluster.DeleteObjectReference<IAgentSessionObserver>(reference);
        _opened.RemoveAll(opened => opened.Session == session);
    }

    public async Task CloseAllAsync()
    {
        foreach (var (host, sessionId, reference, _) in _opened)
        {
            await host.CloseSessionAsync(sessionId);
            cluster.DeleteObjectReference<IAgentSessionObserver>(reference);
        }
    }
}
