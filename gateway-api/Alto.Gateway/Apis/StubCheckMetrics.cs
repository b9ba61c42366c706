using System.Diagnostics.Metrics;
using Alto.GrainInterfaces.Common;

namespace Alto.Gateway.Apis;

/// <summary>Recalls refused because a stub was not its file's own (copied markers, another host's or file's object): counted for the alert, and logged.</summary>
public sealed partial class StubCheckMetrics(IMeterFactory meters, ILogger<StubCheckMetrics> logger)
{
    private readonly Counter<long> _refused = meters.Create(AltoMeter.Name)
        .CreateFailureCounter("alto.stub.recalls_refused", "{recall}", "Recalls refused because the stub was not its file's own or the cluster's record contradicted it");

    public void Refused(Guid hostId, string reason)
    {
        _refused.Add(1);
        LogRefused(logger, hostId, reason);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A recall on host {HostId} was refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, Guid hostId, string reason);
}
