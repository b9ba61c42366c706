using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Alto.Audit;

/// <summary>
/// Audit entries each forwarder's sink has not taken yet (alto_audit_forward_pending, by
/// forwarder): 0 after every pass that reached the end of every chain, the count behind the
/// cursors while the sink fails. Only the process that holds the forwarder reports it.
/// </summary>
public sealed class AuditForwardGauge
{
    /// <summary>The meter every Alto process records its own figures on (AltoMeter.Name; this library sits below the grain interfaces).</summary>
    public const string MeterName = "Alto";

    private readonly ConcurrentDictionary<string, long> _pending = new(StringComparer.Ordinal);

    public AuditForwardGauge(IMeterFactory meters) =>
        meters.Create(MeterName).CreateObservableGauge("alto.audit.forward_pending",
            () => _pending.Select(pending => new Measurement<long>(pending.Value, new KeyValuePair<string, object?>("forwarder", pending.Key))),
            "{entry}", "Audit entries a forwarder's sink has not taken yet (0 when it is caught up), by forwarder");

    public void Set(string forwarder, long pending) => _pending[forwarder] = pending;
}
