using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Tiers;
using Alto.Grains.Audit;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Alto.Grains.Tiers;

/// <summary>
/// One file's tiering life cycle. Its state is its alto.tier_object row, read under a row lock
/// at every call (the planner writes planned rows in bulk, so nothing is cached), moved by
/// <see cref="TierStateMachine"/>, and written back with an audit entry in one transaction.
/// </summary>
public sealed class TierObjectGrain(NpgsqlDataSource db, TimeProvider time, IOptions<TierRetryOptions> retry) : Grain, ITierObjectGrain
{
    private readonly TierStateMachine _machine = new(time, retry.Value.MaxAttempts, retry.Value.Base);

    public async Task<TierObjectInfo?> GetAsync()
    {
        await using var connection = await db.OpenConnectionAsync();
        return (await TierObjectRows.ReadAsync(connection, null, this.GetPrimaryKeyLong(), forUpdate: false, CancellationToken.None))?.ToInfo();
    }

    public async Task<CommandResult<TierObjectInfo>> ApplyAsync(TierEvent change)
    {
        var id = this.GetPrimaryKeyLong();
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (await TierObjectRows.ReadAsync(connection, transaction, id, forUpdate: true, CancellationToken.None) is not { } row)
        {
            return CommandResult<TierObjectInfo>.NotFound($"tier object {id} not found");
        }
        if (change.HostId is { } sender && sender != row.HostId)
        {
            return CommandResult<TierObjectInfo>.Conflict($"tier object {id} is not a file of host {sender}");
        }
        if (IsRepeat(row.Snapshot, change) || change.ReportId is { } report && report == row.LastReportId)
        {
            return CommandResult<TierObjectInfo>.Ok(row.ToInfo());
        }
        TierObjectSnapshot next;
        try
        {
            next = Apply(row.Snapshot, change);
        }
        catch (IllegalTierTransitionException exception)
        {
            return CommandResult<TierObjectInfo>.Conflict(exception.Message);
        }
        await TierObjectRows.WriteAsync(connection, transaction, id, next, change.ReportId, CancellationToken.None);
        await AuditLog.AppendAsync(connection, transaction, new AuditEntry(
            row.TenantId, change.Actor, $"tier.{change.Kind.ToString().ToLowerInvariant()}", "tier_object", id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Succeeded: change.Kind is not (TierEventKind.Failed or TierEventKind.RecallFailed or TierEventKind.Abandoned or TierEventKind.Refused),
            new Dictionary<string, object?>
            {
                ["hostId"] = row.HostId,
                ["path"] = row.FullPath,
                ["from"] = TierObjectRows.StateName(row.Snapshot.State),
                ["to"] = TierObjectRows.StateName(next.State),
                ["reason"] = change.Reason,
                ["sha256"] = next.Hash,
                ["locator"] = next.Locator,
                ["targetId"] = row.TargetId,
                ["jobId"] = row.JobId,
            }) { HostId = row.HostId, Path = row.FullPath }, CancellationToken.None);
        await transaction.CommitAsync();
        return CommandResult<TierObjectInfo>.Ok((row with { Snapshot = next }).ToInfo());
    }

    /// <summary>The life-cycle moves one event stands for.</summary>
    private TierObjectSnapshot Apply(TierObjectSnapshot current, TierEvent change) => change.Kind switch
    {
        TierEventKind.Dispatched => _machine.Transition(current, TierState.Dispatched),
        TierEventKind.Stubbed => _machine.Transition(
            _machine.Transition(
                current.State == TierState.Dispatched ? _machine.Transition(current, TierState.Uploading) : current,
                TierState.Uploaded, new TierTransitionDetails(change.Hash, change.Locator)),
            TierState.Stubbed),
        TierEventKind.Skipped => _machine.Transition(current, TierState.Skipped, new TierTransitionDetails(Error: change.Reason)),
        TierEventKind.Failed => _machine.Transition(
            current.State == TierState.Dispatched ? _machine.Transition(current, TierState.Uploading) : current,
            TierState.Failed, new TierTransitionDetails(Error: change.Reason ?? "the agent reported a failure")),
        TierEventKind.Recalling => _machine.Transition(current, TierState.Recalling),
        TierEventKind.Recalled => _machine.Transition(
            current.State == TierState.Stubbed ? _machine.Transition(current, TierState.Recalling) : current, TierState.Recalled),
        TierEventKind.RecallFailed => _machine.Transition(
            current.State == TierState.Stubbed ? _machine.Transition(current, TierState.Recalling) : current,
            TierState.Failed, new TierTransitionDetails(Error: change.Reason ?? "the recall failed")),
        TierEventKind.Abandoned => _machine.Transition(current, TierState.Abandoned),
        TierEventKind.Refused => _machine.Transition(current, TierState.Skipped, new TierTransitionDetails(Error: change.Reason ?? "the agent refused the file")),
        _ => throw new ArgumentOutOfRangeException(nameof(change), change.Kind, "unknown tier event"),
    };

    /// <summary>Agents repeat results after a reconnect: the same outcome on an object already there is no change.</summary>
    private static bool IsRepeat(TierObjectSnapshot current, TierEvent change) => change.Kind switch
    {
        TierEventKind.Dispatched => current.State == TierState.Dispatched,
        TierEventKind.Stubbed => current.State == TierState.Stubbed && current.Hash == change.Hash && current.Locator == change.Locator,
        TierEventKind.Skipped or TierEventKind.Refused => current.State == TierState.Skipped,
        TierEventKind.Recalling => current.State == TierState.Recalling,
        TierEventKind.Recalled => current.State == TierState.Recalled,
        _ => false,
    };
}
