using System.Diagnostics.Metrics;
using Alto.GrainInterfaces.Common;

namespace Alto.Grains.Fleet;

/// <summary>How many of a tenant's things are in one state.</summary>
public readonly record struct FleetCount(Guid TenantId, string State, long Count);

/// <summary>One reading of the database: each family's counts per tenant and state.</summary>
public sealed record FleetSnapshot(
    IReadOnlyList<FleetCount> Hosts,
    IReadOnlyList<FleetCount> Jobs,
    IReadOnlyList<FleetCount> Scans,
    IReadOnlyList<FleetCount> TrailBatches,
    IReadOnlyList<FleetCount> Commands)
{
    public static readonly FleetSnapshot Empty = new([], [], [], [], []);
}

/// <summary>
/// What is connected and what waits, per tenant (meter "Alto"): hosts by status (online: an agent
/// holds a session), tiering jobs not finished by status (the job queue), scans not yet ingested
/// by status (the ingest backlog), LucidLink trail batches staged and not applied, and commands
/// waiting for agents by kind. <see cref="FleetGaugeRefresher"/> reads them from the database every
/// period; a scrape reads the last reading, never the database. Every silo reports the same
/// figures: aggregate them with max, not sum.
/// </summary>
public sealed class FleetGauges
{
    /// <summary>Every state a family reports, so a queue that empties reads 0 rather than vanishing.</summary>
    private static readonly string[] HostStates = ["registered", "enrolled", "online", "offline", "disabled"];
    private static readonly string[] JobStates = ["awaiting_approval", "queued", "dispatched", "running"];
    private static readonly string[] ScanStates = ["receiving", "queued", "ingesting"];
    private static readonly string[] CommandKinds = ["scan", "recall", "reconcile", "census", "restore"];

    private FleetSnapshot _snapshot = FleetSnapshot.Empty;

    public FleetGauges(IMeterFactory meters)
    {
        var meter = meters.Create(AltoMeter.Name);
        meter.CreateObservableGauge("alto.hosts", () => Measure(snapshot => snapshot.Hosts, HostStates, "status"), "{host}",
            "Hosts by status (online: its agent holds a session)");
        meter.CreateObservableGauge("alto.tier.jobs_open", () => Measure(snapshot => snapshot.Jobs, JobStates, "status"), "{job}",
            "Tiering jobs not finished, by status: the queue waiting for approval, for an agent, or under way");
        meter.CreateObservableGauge("alto.scans_open", () => Measure(snapshot => snapshot.Scans, ScanStates, "status"), "{scan}",
            "Scans not yet in the inventory, by status: the ingest backlog");
        meter.CreateObservableGauge("alto.lucidlink.batches_pending", () => Measure(snapshot => snapshot.TrailBatches, ["pending"], null), "{batch}",
            "LucidLink trail batches staged and not yet applied");
        meter.CreateObservableGauge("alto.agent.commands_pending", () => Measure(snapshot => snapshot.Commands, CommandKinds, "kind"), "{command}",
            "Commands waiting for their agents, by kind");
    }

    /// <summary>When the last reading was taken (null before the first).</summary>
    public DateTimeOffset? ReadAt { get; private set; }

    public void Update(FleetSnapshot snapshot, DateTimeOffset readAt)
    {
        Volatile.Write(ref _snapshot, snapshot);
        ReadAt = readAt;
    }

    /// <summary>Every tenant with a host, in every state of the family (0 where none), plus any tenant the family names.</summary>
    private IEnumerable<Measurement<long>> Measure(Func<FleetSnapshot, IReadOnlyList<FleetCount>> family, string[] states, string? label)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        var counts = family(snapshot).ToDictionary(count => (count.TenantId, count.State), count => count.Count);
        var tenants = snapshot.Hosts.Select(count => count.TenantId).Concat(counts.Keys.Select(key => key.TenantId)).Distinct();
        foreach (var tenant in tenants)
        {
            foreach (var state in states)
            {
                var value = counts.GetValueOrDefault((tenant, state));
                yield return label is null
                    ? new Measurement<long>(value, AltoMeter.Tenant(tenant))
                    : new Measurement<long>(value, AltoMeter.Tenant(tenant), new KeyValuePair<string, object?>(label, state));
            }
        }
    }
}
