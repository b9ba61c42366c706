using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Alto.Grains.Fleet;

/// <summary>A service that holds instruments of the Alto meter, to be created when the process starts.</summary>
public sealed record MetricFamily(Type Holder);

/// <summary>
/// Creates every service that holds instruments when the process starts, so each family of
/// figures (and each failure counter, at 0) is on /metrics from the first scrape — not from the
/// first time something happens to use it. Dashboards and alerts then find every series they name.
/// </summary>
public sealed class MetricFamiliesAtStart(IServiceProvider services, IEnumerable<MetricFamily> families) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var family in families)
        {
            services.GetRequiredService(family.Holder);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class MetricFamilyServiceCollectionExtensions
{
    /// <summary>Has each holder (registered as a service elsewhere) created when the process starts.</summary>
    public static IServiceCollection AddMetricFamilies(this IServiceCollection services, params Type[] holders)
    {
        foreach (var holder in holders)
        {
            services.AddSingleton(new MetricFamily(holder));
        }
        if (!services.Any(service => service.ImplementationType == typeof(MetricFamiliesAtStart)))
        {
            services.AddHostedService<MetricFamiliesAtStart>();
        }
        return services;
    }
}
