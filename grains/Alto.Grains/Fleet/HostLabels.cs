using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Alto.Grains.Fleet;

/// <summary>
/// The host label of per-host series, bounded: the first <see cref="MetricsOptions.HostLabelLimit"/>
/// hosts a process reports on are labelled with their id, any later one with "other", so a fleet of
/// thousands of file servers cannot multiply the series a Prometheus server keeps. (Hosts reported
/// at the same moment near the limit may pass it by a few.)
/// </summary>
public sealed class HostLabels(IOptions<MetricsOptions> options)
{
    public const string Name = "host";
    public const string Other = "other";

    private readonly ConcurrentDictionary<Guid, byte> _labelled = new();

    public KeyValuePair<string, object?> For(Guid hostId) =>
        _labelled.ContainsKey(hostId) || (_labelled.Count < options.Value.HostLabelLimit && _labelled.TryAdd(hostId, 0))
            ? new(Name, hostId.ToString())
            : new(Name, Other);
}
