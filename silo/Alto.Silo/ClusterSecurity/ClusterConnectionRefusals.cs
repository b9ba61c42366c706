using System.Diagnostics.Metrics;
using System.Net;
using System.Security.Authentication;
using Alto.Audit;
using Alto.GrainInterfaces.Common;
using Microsoft.AspNetCore.Connections;
using Npgsql;
using Orleans.Connections.Security;

namespace Alto.Silo.ClusterSecurity;

/// <summary>
/// Connections to a silo's Orleans ports that did not complete mutual TLS with the installation's
/// certificate (no TLS at all, another certificate, none): each is counted
/// (<c>alto_cluster_connections_refused</c>), logged, and audited in the platform's chain with the
/// caller's address — at most <see cref="PerSourcePerMinute"/> entries per address a minute — so a
/// probe of the cluster's ports is seen, not only refused.
/// </summary>
public sealed partial class ClusterConnectionRefusals(NpgsqlDataSource db, IMeterFactory meters, TimeProvider time, ILogger<ClusterConnectionRefusals> logger)
{
    public const int PerSourcePerMinute = 20;

    /// <summary>The audit action of a refused connection.</summary>
    public const string Action = "cluster.connection_refused";

    /// <summary>The <c>port</c> labels: the settings that name the two ports.</summary>
    public const string SiloPort = "Alto:Cluster:SiloPort";
    public const string GatewayPort = "Alto:Cluster:GatewayPort";

    private readonly Counter<long> _refused = CreateCounter(meters);

    private readonly PerSourceBudget _budget = new(PerSourcePerMinute, time);

    /// <summary>Connection middleware, outside TLS: what the connection did once it ends, and whether its handshake ever completed.</summary>
    public async Task ObserveAsync(ConnectionContext connection, ConnectionDelegate next, string port)
    {
        await next(connection);
        if (connection.Features.Get<ITlsHandshakeFeature>() is { Protocol: not SslProtocols.None })
        {
            return;
        }
        var source = (connection.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? connection.RemoteEndPoint?.ToString() ?? "unknown";
        _refused.Add(1, new KeyValuePair<string, object?>("port", port));
        LogRefused(logger, port, source);
        var details = new Dictionary<string, object?> { ["port"] = port, ["reason"] = "no mutual TLS with the installation's certificate" };
        if (!_budget.TryTake(source, details))
        {
            return;
        }
        try
        {
            await AuditLog.AppendAsync(db, new AuditEntry(null, "anonymous", Action, "connection", null, Succeeded: false, details) { Origin = source }, CancellationToken.None);
        }
        catch (NpgsqlException exception)
        {
            // The refusal stands whatever happens here; one that could not be audited is logged and counted instead.
            _refused.Add(1, new KeyValuePair<string, object?>("port", "not_audited"));
            LogNotAudited(logger, exception.Message);
        }
    }

    /// <summary>Both ports' series read 0 from the first scrape, so an alert on their increase sees the very first refusal.</summary>
    private static Counter<long> CreateCounter(IMeterFactory meters)
    {
        var counter = meters.Create(AltoMeter.Name).CreateFailureCounter(
            "alto.cluster.connections_refused", "{connection}", "Connections to the Orleans ports refused for want of mutual TLS with the installation's certificate, by port");
        counter.Add(0, new KeyValuePair<string, object?>("port", SiloPort));
        counter.Add(0, new KeyValuePair<string, object?>("port", GatewayPort));
        return counter;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a connection to {Port} from {Source}: it did not complete mutual TLS with the installation's cluster certificate")]
    private static partial void LogRefused(ILogger logger, string port, string source);

    [LoggerMessage(Level = LogLevel.Error, Message = "A refused cluster connection could not be audited: {Reason}")]
    private static partial void LogNotAudited(ILogger logger, string reason);
}
