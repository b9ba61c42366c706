using Alto.Audit;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.Grains.Persistence;
using Npgsql;

namespace Alto.Grains.Hosts;

/// <summary>
/// A host registered by mistake, deleted. Only one without a credential: an enrolled host's agent
/// may be connected, and is cut off first by revoking it (so no scan of it can arrive meanwhile).
/// Its row goes first, so the database decides in that statement that nothing names it (its files
/// in the inventory; by the foreign keys, a scan, a file tiered or planned, a job, a rule, a run);
/// a host that has been scanned keeps its records and is revoked instead.
/// </summary>
public sealed partial class HostGrain
{
    public async Task<CommandResult<HostInfo>> DeleteAsync(string[]? ifMatch = null)
    {
        if (!host.State.Exists)
        {
            return CommandResult<HostInfo>.NotFound($"host {Id} not found");
        }
        var before = ToInfo();
        if (Revision.Stale(HostSettings.Of(before), ifMatch, $"host '{host.State.Name}'") is { } stale)
        {
            return CommandResult<HostInfo>.Stale(stale);
        }
        if (host.State.CredentialHash is not null || _session is not null)
        {
            return CommandResult<HostInfo>.Conflict(
                $"host '{host.State.Name}' is enrolled: revoke its credential first (POST …/credential/revoke), which disconnects its agent, then delete it");
        }
        string? namedByTable;
        try
        {
            namedByTable = await rows.DeleteAsync(Id, host.State.TenantId) ? null : "file_current";
        }
        catch (PostgresException exception) when (exception.IsForeignKeyViolation())
        {
            namedByTable = exception.TableName ?? "?";
        }
        if (namedByTable is not null)
        {
            var namedBy = await rows.NamedByAsync(Id, host.State.TenantId) is { Length: > 0 } named ? string.Join(", ", named) : $"rows of alto.{namedByTable}";
            return CommandResult<HostInfo>.Conflict(
                $"host '{host.State.Name}' is named by {namedBy}, so it stays with its records; revoke its credential to keep its agent out");
        }

        var kept = host.State;
        host.State = Copy(kept);
        host.State.Exists = false;
        host.State.EnrollmentTokenHash = null;
        host.State.EnrollmentExpiresAt = null;
        host.State.PendingCommands = [];
        host.State.UpdatedAt = time.GetUtcNow();
        Persistence.FollowUps.Hold(host.State, AdminAudit.Prepare(kept.TenantId, "host.deleted", "host", Id.ToString(), before, null, time.GetUtcNow(), hostId: Id));
        try
        {
            await host.WriteStateAsync();
        }
        catch
        {
            // The host stays as it was, and so does its row (now, or at the next resync).
            host.State = kept;
            await FollowUps.RunAsync(() => rows.UpsertAsync(Id, kept));
            throw;
        }
        // The commands that waited for it go, and its entry is appended.
        await FollowUps.RunAsync(WriteAllRowsAsync);
        if (await this.GetReminder(PlanReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
        return CommandResult<HostInfo>.Ok(before);
    }
}
