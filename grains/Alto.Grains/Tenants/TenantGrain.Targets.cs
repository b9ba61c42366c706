using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Tenants;
using Alto.Grains.Persistence;
using Npgsql;

namespace Alto.Grains.Tenants;

/// <summary>A tenant's storage targets: added, changed, read, and deleted while nothing names them.</summary>
public sealed partial class TenantGrain
{
    public async Task<CommandResult<StorageTargetInfo>> AddTargetAsync(CreateStorageTarget command)
    {
        if (TenantRefusal<StorageTargetInfo>() is { } refusal)
        {
            return refusal;
        }
        if (tenant.State.Targets.ContainsKey(command.TargetId))
        {
            return CommandResult<StorageTargetInfo>.Conflict($"storage target {command.TargetId} already exists");
        }
        if (IsTargetNameTaken(command.Name, exceptId: null))
        {
            return CommandResult<StorageTargetInfo>.Conflict($"a storage target named '{command.Name}' already exists in this tenant");
        }

        var now = time.GetUtcNow();
        var target = new StorageTargetState
        {
            Id = command.TargetId,
            Name = command.Name,
            Kind = command.Kind,
            Settings = command.Settings,
            SealedCredentials = command.Credentials is null ? null : await SealAsync(command.Credentials),
            Enabled = true,
            CreatedAt = now,
            UpdatedAt = now,
        };
        tenant.State.Targets[target.Id] = target;
        await StoreAsync(AuditOf("target.created", "storage_target", target.Id.ToString(), null, ToInfo(target)), () => tenant.State.Targets.Remove(target.Id));
        await FollowUpAsync(() => rows.UpsertTargetAsync(Id, target));
        return CommandResult<StorageTargetInfo>.Ok(ToInfo(target));
    }

    public async Task<CommandResult<StorageTargetInfo>> UpdateTargetAsync(Guid targetId, UpdateStorageTarget command, string[]? ifMatch = null)
    {
        if (TenantRefusal<StorageTargetInfo>() is { } refusal)
        {
            return refusal;
        }
        if (!tenant.State.Targets.TryGetValue(targetId, out var target))
        {
            return CommandResult<StorageTargetInfo>.NotFound($"storage target {targetId} not found");
        }
        if (Revision.Stale(ToInfo(target), ifMatch, $"storage target '{target.Name}'") is { } stale)
        {
            return CommandResult<StorageTargetInfo>.Stale(stale);
        }
        if (command.Name is not null && IsTargetNameTaken(command.Name, exceptId: targetId))
        {
            return CommandResult<StorageTargetInfo>.Conflict($"a storage target named '{command.Name}' already exists in this tenant");
        }

        var updated = new StorageTargetState
        {
            Id = target.Id,
            Name = command.Name ?? target.Name,
            Kind = target.Kind,
            Settings = command.Settings ?? target.Settings,
            Credentials = command.Credentials is null ? target.Credentials : null,
            SealedCredentials = command.Credentials is null ? target.SealedCredentials : await SealAsync(command.Credentials),
            Enabled = command.Enabled ?? target.Enabled,
            CreatedAt = target.CreatedAt,
            UpdatedAt = time.GetUtcNow(),
        };
        tenant.State.Targets[targetId] = updated;
        await StoreAsync(AuditOf(command.Credentials is null ? "target.updated" : "target.credentials_rotated", "storage_target", targetId.ToString(),
            ToInfo(target), ToInfo(updated)), () => tenant.State.Targets[targetId] = target);
        await FollowUpAsync(() => rows.UpsertTargetAsync(Id, updated));
        return CommandResult<StorageTargetInfo>.Ok(ToInfo(updated));
    }

    public Task<StorageTargetInfo?> GetTargetAsync(Guid targetId) =>
        Task.FromResult(tenant.State.Exists && tenant.State.Targets.TryGetValue(targetId, out var target) ? ToInfo(target) : null);

    /// <summary>
    /// Deletes a target nothing names: no rule of the tenant, and no row of the database (a file
    /// tiered to it or planned for it, a tiering job, a reconciliation run or schedule). Its row
    /// goes first, so the database's foreign keys decide in the same statement that nothing names
    /// it — a plan inserting a tier object for it a moment later fails rather than names a target
    /// that is gone. A target that has held data is disabled instead, its records kept.
    /// </summary>
    public async Task<CommandResult<StorageTargetInfo>> DeleteTargetAsync(Guid targetId, string[]? ifMatch = null)
    {
        if (TenantRefusal<StorageTargetInfo>() is { } refusal)
        {
            return refusal;
        }
        if (!tenant.State.Targets.TryGetValue(targetId, out var target))
        {
            return CommandResult<StorageTargetInfo>.NotFound($"storage target {targetId} not found");
        }
        var before = ToInfo(target);
        if (Revision.Stale(before, ifMatch, $"storage target '{target.Name}'") is { } stale)
        {
            return CommandResult<StorageTargetInfo>.Stale(stale);
        }
        var naming = tenant.State.Rules.Values.Where(rule => rule.TargetId == targetId).Select(rule => $"'{rule.Name}'").Order(StringComparer.Ordinal).ToArray();
        if (naming.Length > 0)
        {
            return CommandResult<StorageTargetInfo>.Conflict(
                $"storage target '{target.Name}' is the target of rule(s) {string.Join(", ", naming)}; point them at another target or delete them first");
        }
        try
        {
            await rows.DeleteTargetAsync(targetId);
        }
        catch (PostgresException exception) when (exception.IsForeignKeyViolation())
        {
            var namedBy = await rows.TargetNamedByAsync(targetId) is { Length: > 0 } named ? string.Join(", ", named) : $"rows of alto.{exception.TableName}";
            return CommandResult<StorageTargetInfo>.Conflict(
                $"storage target '{target.Name}' is named by {namedBy}, so it stays: a target that has held or been planned data keeps its records' place. " +
                "Disable it instead (\"enabled\": false) to send it nothing more");
        }

        tenant.State.Targets.Remove(targetId);
        try
        {
            await StoreAsync(AuditOf("target.deleted", "storage_target", targetId.ToString(), before, null), () => tenant.State.Targets[targetId] = target);
        }
        catch
        {
            // The state still holds the target: its row comes back (now, or with the next resync).
            await FollowUpAsync(() => rows.UpsertTargetAsync(Id, target));
            throw;
        }
        await FollowUpAsync(() => Task.CompletedTask);
        return CommandResult<StorageTargetInfo>.Ok(before);
    }
}
