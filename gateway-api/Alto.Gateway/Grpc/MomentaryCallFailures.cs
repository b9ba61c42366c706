using System.Diagnostics.Metrics;
using Alto.GrainInterfaces.Common;

namespace Alto.Gateway.Grpc;

/// <summary>
/// A call to the host grain from an agent's session that failed for the moment's reason — it
/// took longer than the cluster's call timeout, a silo was going away, the database could not be
/// reached — does not end the session: a report is answered "send it again" (it is applied once,
/// whenever it arrives), a heartbeat or an acknowledgement is passed over (the next heartbeat
/// comes; a command not acknowledged is delivered again). Each is logged and counted
/// (alto_agent_messages_deferred by kind).
/// </summary>
public sealed partial class MomentaryCallFailures(IMeterFactory meters, ILogger<MomentaryCallFailures> logger)
{
    private readonly Counter<long> _deferred = meters.Create(AltoMeter.Name).CreateFailureCounter("alto.agent.messages_deferred", "{message}",
        "Agent messages the cluster could not take at once (a call timed out, a silo or the database away), by kind: reports are sent again");

    /// <summary>Whether <paramref name="exception"/> is the moment's failure, not the message's.</summary>
    public static bool IsMomentary(Exception exception) => Errors.UnavailableExceptionHandler.CauseOf(exception) is not null;

    /// <summary>
    /// Logs (with the exception's own words) and counts a message of <paramref name="kind"/> from
    /// <paramref name="hostId"/> that was not taken now; returns the reason for the agent, which
    /// names the cause only: the cluster's internals (silo addresses, grain ids) stay in its log.
    /// </summary>
    public string Deferred(Guid hostId, string kind, string messageId, Exception exception)
    {
        LogDeferred(logger, hostId, kind, messageId, exception.GetBaseException().Message);
        _deferred.Add(1, new KeyValuePair<string, object?>("kind", kind));
        return Errors.UnavailableExceptionHandler.CauseOf(exception) switch
        {
            "database" => "the database cannot be reached",
            Errors.UnavailableExceptionHandler.TimeoutCause => "the cluster did not take it within its call timeout",
            _ => "the cluster cannot be reached",
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId}: a {Kind} message ({MessageId}) could not be taken now, the session goes on: {Reason}")]
    private static partial void LogDeferred(ILogger logger, Guid hostId, string kind, string messageId, string reason);
}
