using Alto.GrainInterfaces.Common;

namespace Alto.GrainInterfaces.Tenants;

/// <summary>One tenant: its identity, status and tier-2 storage targets. Keyed by tenant id (a GUID string).</summary>
[Alias("Alto.ITenantGrain")]
public interface ITenantGrain : IGrainWithStringKey
{
    [Alias("CreateAsync")]
    Task<CommandResult<TenantInfo>> CreateAsync(CreateTenant command);

    [Alias("GetAsync")]
    Task<TenantInfo?> GetAsync();

    [Alias("UpdateAsync")]
    Task<CommandResult<TenantInfo>> UpdateAsync(UpdateTenant command);

    [Alias("SetStatusAsync")]
    Task<CommandResult<TenantInfo>> SetStatusAsync(TenantStatus status);

    [Alias("AddTargetAsync")]
    Task<CommandResult<StorageTargetInfo>> AddTargetAsync(CreateStorageTarget command);

    [Alias("UpdateTargetAsync")]
    Task<CommandResult<StorageTargetInfo>> UpdateTargetAsync(Guid targetId, UpdateStorageTarget command);

    [Alias("GetTargetAsync")]
    Task<StorageTargetInfo?> GetTargetAsync(Guid targetId);
}
