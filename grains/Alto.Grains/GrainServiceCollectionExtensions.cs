using Alto.Grains.Fleet;
using Alto.Grains.Hosts;
using Alto.Keys;
using Alto.Grains.Tenants;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Alto.Grains;

public static class GrainServiceCollectionExtensions
{
    /// <summary>Services the grains depend on. Needs an NpgsqlDataSource registered by the host.</summary>
    public static IServiceCollection AddAltoGrainServices(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TenantRows>();
        services.TryAddSingleton<RuleRows>();
        services.TryAddSingleton<HostRows>();
        services.TryAddSingleton<JobRows>();
        services.TryAddSingleton<CommandRows>();
        services.TryAddSingleton<HostTierObjects>();
        services.TryAddSingleton<Tiers.TierObjectLedger>();
        services.TryAddSingleton<Audit.AdminAudit>();
        services.TryAddSingleton<Persistence.FollowUpMetrics>();
        services.TryAddSingleton<Trail.TrailUpdateApplier>();
        services.TryAddSingleton<Trail.TrailBacklog>();
        services.TryAddSingleton<Trail.TrailSlots>();
        services.AddOptions<Trail.TrailOptions>();
        services.AddAltoKeys();
        Audit.AuditForwarderService.AddAuditForwarding(services);
        Audit.AuditChainWatch.AddAuditChainWatch(services);
        services.TryAddSingleton<Scans.InventoryMerge>();
        services.TryAddSingleton<Scans.MergeSlots>();
        services.AddOptions<Scans.IngestOptions>();
        services.TryAddSingleton<Scans.ScanMetrics>();
        services.AddMetrics();
        services.TryAddSingleton<Planning.PlannerMetrics>();
        services.TryAddSingleton<TieringMetrics>();
        services.TryAddSingleton<Fleet.FleetGauges>();
        services.AddOptions<Fleet.MetricsOptions>().BindConfiguration(Fleet.MetricsOptions.Section);
        services.TryAddSingleton<Fleet.HostLabels>();
        services.AddHostedService<Fleet.FleetGaugeRefresher>();
        services.TryAddSingleton<Reconcile.ReconcileRuns>();
        services.TryAddSingleton<Reconcile.ReconcileCensus>();
        services.TryAddSingleton<Reconcile.ReconcileComparison>();
        services.TryAddSingleton<Reconcile.ReconcileReclaims>();
        services.TryAddSingleton<Reconcile.ReconcileRestores>();
        services.TryAddSingleton<Reconcile.ReconcileSchedules>();
        services.TryAddSingleton<Reconcile.ReconcileMetrics>();
        services.TryAddSingleton<Planning.HostPlanner>();
        services.TryAddSingleton<Planning.PlanSlots>();
        services.TryAddSingleton<Live.LivePublisher>();
        services.TryAddSingleton<Live.LiveTierTally>();
        services.AddHostedService(provider => provider.GetRequiredService<Live.LiveTierTally>());
        services.AddOptions<Planning.PlannerOptions>();
        services.AddOptions<DispatchOptions>();
        services.AddOptions<Tiers.TierRetryOptions>();
        services.AddMetricFamilies(typeof(Scans.ScanMetrics), typeof(Planning.PlannerMetrics), typeof(TieringMetrics), typeof(Reconcile.ReconcileMetrics),
            typeof(Live.LivePublisher), typeof(Persistence.FollowUpMetrics));
        return services;
    }
}
