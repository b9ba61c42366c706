using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Planning;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tenants;

namespace Alto.GrainInterfaces.Hosts;

/// <summary>
/// The inventory work of one host, keyed like its <see cref="IHostGrain"/> (the host id as a
/// GUID string): planning, and applying the LucidLink trail's staged updates. Not reentrant — one
/// piece of this work at a time — and apart from the host grain, whose session traffic never
/// waits behind a plan. Requests made while a plan runs are coalesced into one plan after it.
/// </summary>
[Alias("Alto.IHostInventoryGrain")]
public interface IHostInventoryGrain : IGrainWithStringKey
{
    /// <summary>
    /// Evaluates the host's inventory against its tenant's rules. For real, matches become PLANNED
    /// tier objects in jobs (and the host grain is told, to dispatch them); a dry run returns the
    /// same figures and writes nothing.
    /// </summary>
    [Alias("PlanAsync"), ResponseTimeout("00:30:00")]
    Task<CommandResult<PlanSummary>> PlanAsync(bool dryRun);

    /// <summary>As <see cref="PlanAsync"/>, with the tenant's rules and policy given by the tenant itself (a tenant-wide plan).</summary>
    [Alias("PlanWithAsync"), ResponseTimeout("00:30:00")]
    Task<CommandResult<PlanSummary>> PlanWithAsync(bool dryRun, TenantPlanPolicy policy);

    /// <summary>Asks for a real plan soon (a scan completed, a retry is due, the schedule); requests while one runs make one more.</summary>
    [Alias("RequestPlanAsync"), Orleans.Concurrency.OneWay]
    Task RequestPlanAsync(string trigger);

    /// <summary>
    /// A batch of LucidLink trail updates was staged for the host: every staged batch is applied in
    /// the order it came, then the host is planned again (warm files leave their jobs) and stubs read
    /// often enough elsewhere are queued for recall. The caller does not wait for any of it.
    /// </summary>
    [Alias("TrailUpdatesStagedAsync"), Orleans.Concurrency.OneWay]
    Task TrailUpdatesStagedAsync();
}

/// <summary>A tenant's side of a plan as of one moment: its rules in order, its targets and its policy.</summary>
[GenerateSerializer, Immutable, Alias("Alto.TenantPlanPolicy")]
public sealed record TenantPlanPolicy(
    [property: Id(0)] RuleInfo[] Rules,
    [property: Id(1)] StorageTargetInfo[] Targets,
    [property: Id(2)] TenantInfo Tenant);
