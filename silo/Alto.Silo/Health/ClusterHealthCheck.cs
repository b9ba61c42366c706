using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Alto.Silo.Health;

/// <summary>Ready only when the Orleans cluster answers and has at least one active silo.</summary>
public sealed class ClusterHealthCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // WaitAsync bounds the probe even when no silo ever answers.
            var hosts = grains.GetGrain<IManagementGrain>(0).GetHosts(true, cancellationToken);
            var silos = await hosts.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            return silos.Count > 0
                ? HealthCheckResult.Healthy($"{silos.Count} active silo(s)")
                : HealthCheckResult.Unhealthy("no active silo");
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"cluster unreachable: {exception.Message}");
        }
    }
}
