using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Alto.GrainInterfaces.Hosts;

namespace Alto.Gateway.Grpc;

/// <summary>
/// What the heartbeats of the hosts whose sessions this gateway holds say, for /metrics, per host
/// (and tenant): files the agent's journal keeps unsettled, opens of stubs waiting for their
/// recall to start, and the LucidLink audit trail — events
/// applied, lines refused and quarantined, duplicates dropped, the quarantine's size and overflow,
/// and the lag (seconds from the newest applied event to the scrape). Each heartbeat replaces its
/// host's figures; a host whose session ended is dropped.
/// </summary>
public sealed class AgentHeartbeatGauges
{
    private readonly ConcurrentDictionary<Guid, (Guid TenantId, AgentMetrics Metrics)> _hosts = new();
    private readonly TimeProvider _clock;

    public AgentHeartbeatGauges(IMeterFactory meters, TimeProvider clock)
    {
        _clock = clock;
        var meter = meters.Create(GrainInterfaces.Common.AltoMeter.Name);
        meter.CreateObservableGauge("alto.agent.operations_unsettled",
            () => _hosts.Select(pair => new Measurement<long>(pair.Value.Metrics.OperationsUnsettled, Tags(pair.Key, pair.Value.TenantId))), "{file}",
            "Files the agent's journal keeps unsettled (a stubbing or recall cut short on a file it may not write now), to be settled at its next start");
        meter.CreateObservableGauge("alto.agent.recalls_waiting",
            () => _hosts.Select(pair => new Measurement<long>(pair.Value.Metrics.RecallsWaiting, Tags(pair.Key, pair.Value.TenantId))), "{open}",
            "Opens of stubs waiting for their recall to start: the agent recalls a few at once (run --recalls-at-once)");
        meter.CreateObservableCounter("alto.lucidlink.events_applied", () => Each(trail => trail.EventsApplied), "{event}",
            "Audit-trail events the gateway took, since the agent started");
        meter.CreateObservableCounter("alto.lucidlink.lines_malformed", () => Each(trail => trail.LinesMalformed), "{line}",
            "Audit-trail lines the agent could not read (each quarantined, or counted as overflow), since the agent started");
        meter.CreateObservableCounter("alto.lucidlink.lines_duplicate", () => Each(trail => trail.LinesDuplicate), "{line}",
            "Audit-trail lines dropped as seen before, since the agent started");
        meter.CreateObservableGauge("alto.lucidlink.lines_quarantined", () => Each(trail => (long)trail.LinesQuarantined), "{line}",
            "Audit-trail lines waiting in the agent's quarantine");
        meter.CreateObservableCounter("alto.lucidlink.quarantine_overflow", () => Each(trail => trail.QuarantineOverflow), "{line}",
            "Refused audit-trail lines that found the quarantine full");
        meter.CreateObservableGauge("alto.lucidlink.lag", Lag, "s",
            "Seconds from the newest audit-trail event the gateway took to now");
    }

    public void Report(Guid hostId, Guid tenantId, AgentMetrics metrics) => _hosts[hostId] = (tenantId, metrics);

    public void Forget(Guid hostId) => _hosts.TryRemove(hostId, out _);

    /// <summary>A trail figure of each host that follows a LucidLink trail.</summary>
    private IEnumerable<Measurement<long>> Each(Func<LucidTrailMetrics, long> figure) =>
        _hosts.Where(pair => pair.Value.Metrics.LucidLinkTrail is not null)
            .Select(pair => new Measurement<long>(figure(pair.Value.Metrics.LucidLinkTrail!), Tags(pair.Key, pair.Value.TenantId)));

    private IEnumerable<Measurement<double>> Lag()
    {
        var now = _clock.GetUtcNow();
        foreach (var (hostId, (tenantId, metrics)) in _hosts)
        {
            if (metrics.LucidLinkTrail?.NewestAppliedEvent is { } newest)
            {
                yield return new Measurement<double>(Math.Max(0, (now - newest).TotalSeconds), Tags(hostId, tenantId));
            }
        }
    }

    private static KeyValuePair<string, object?>[] Tags(Guid hostId, Guid tenantId) =>
        [GrainInterfaces.Common.AltoMeter.Tenant(tenantId), new("host", hostId.ToString())];
}
