using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tenants;
using Alto.Grains.Persistence;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Hosts;

/// <summary>
/// One file server. Holds registration and enrollment state now; agent sessions, scans and jobs
/// join it in later stages. alto.host is its read model, written only here.
/// </summary>
public sealed partial class HostGrain(
    [PersistentState(StorageNames.HostState, StorageNames.Grains)] IPersistentState<HostState> host,
    HostRows rows,
    IGrainFactory grains,
    TimeProvider time,
    ILogger<HostGrain> logger) : Grain, IHostGrain
{
    private Guid Id => Guid.Parse(this.GetPrimaryKeyString());

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (host.State.Exists)
            {
                await rows.UpsertAsync(Id, host.State);
            }
            else
            {
                await rows.DeleteOrphanAsync(Id);
            }
        }
        catch (NpgsqlException exception)
        {
            LogResyncFailed(logger, exception, Id);
        }
    }

    public Task<HostInfo?> GetAsync() => Task.FromResult(host.State.Exists ? ToInfo() : null);

    public async Task<CommandResult<HostRegistration>> RegisterAsync(RegisterHost command)
    {
        if (host.State.Exists)
        {
            return CommandResult<HostRegistration>.Conflict($"host {Id} already exists");
        }

        var tenant = await grains.GetGrain<ITenantGrain>(command.TenantId.ToString()).GetAsync();
        if (tenant is null)
        {
            return CommandResult<HostRegistration>.NotFound($"tenant {command.TenantId} not found");
        }
        if (tenant.Status == TenantStatus.Disabled)
        {
            return CommandResult<HostRegistration>.Conflict($"tenant {command.TenantId} is disabled");
        }

        var now = time.GetUtcNow();
        var token = EnrollmentTokens.NewEnrollmentToken();
        var registered = new HostState
        {
            Exists = true,
            TenantId = command.TenantId,
            Name = command.Name,
            Os = command.Os,
            Volumes = command.Volumes,
            Status = HostStatus.Registered,
            EnrollmentTokenHash = EnrollmentTokens.Hash(token),
            EnrollmentExpiresAt = now + command.EnrollmentTokenLifetime,
            CreatedAt = now,
            UpdatedAt = now,
        };

        // The row's unique index keeps host names unique within a tenant.
        var claimed = await ClaimedWrite.CreateAsync(
            host, registered, () => rows.InsertAsync(Id, registered), () => rows.DeleteOrphanAsync(Id), () => new HostState());
        return claimed
            ? CommandResult<HostRegistration>.Ok(new HostRegistration(ToInfo(), token))
            : CommandResult<HostRegistration>.Conflict($"a host named '{command.Name}' already exists in this tenant");
    }

    private HostInfo ToInfo() => new(
        Id, host.State.TenantId, host.State.Name, host.State.Os, host.State.Volumes, host.State.Status,
        host.State.EnrollmentExpiresAt, host.State.CreatedAt, host.State.UpdatedAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not re-sync the read model of host {HostId}")]
    private static partial void LogResyncFailed(ILogger logger, Exception exception, Guid hostId);
}
