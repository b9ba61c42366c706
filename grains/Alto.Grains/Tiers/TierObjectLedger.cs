using Alto.Audit;
using Alto.GrainInterfaces.Tiers;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Alto.Grains.Tiers;

/// <summary>
/// The one writer of a host's tier-object life cycle. A batch — a job's dispatch, an agent's
/// result report, a recall report, the files a sweep abandons — is applied in one transaction:
/// its rows are locked in id order, each moved by <see cref="TierEventMoves"/> (pure code), and
/// written back with one audit entry per move; a recall also marks the file accessed in the
/// inventory. All of it commits, or none. A change for an object of another host, a missing
/// object or an illegal move is refused on its own and changes nothing; a repeat is no change.
/// </summary>
public sealed class TierObjectLedger(NpgsqlDataSource db, TimeProvider time, IOptions<TierRetryOptions> retry, Live.LiveTierTally? live = null)
{
    private readonly TierEventMoves _moves = new(new TierStateMachine(time, retry.Value.MaxAttempts, retry.Value.Base, retry.Value.RefusedPause));

    public async Task<TierChangeOutcome[]> ApplyAsync(Guid hostId, IReadOnlyList<TierChange> changes, CancellationToken cancellationToken) =>
        changes.Count == 0 ? [] : await ApplyAsync(hostId, (_, _, _) => Task.FromResult(new LedgerBatch(changes, [])), cancellationToken);

    /// <summary>
    /// Applies the batch <paramref name="prepare"/> decides in the ledger's own transaction, after
    /// its other writes (a job declined, say): those, the moves and their audit entries, and the
    /// batch's own entries all commit together, or none does.
    /// </summary>
    public async Task<TierChangeOutcome[]> ApplyAsync(Guid hostId, PrepareBatch prepare, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (changes, alsoAudited) = await prepare(connection, transaction, cancellationToken);
        var current = (await TierObjectRows.LockAsync(connection, transaction, [.. changes.Select(change => change.TierObjectId).Distinct()], cancellationToken))
            .ToDictionary(row => row.Id);
        var moved = new Dictionary<long, TierObjectRow>();
        var entries = new List<AuditEntry>();
        var recalledFiles = new List<long>();
        var stubbedFiles = new List<long>();
        var outcomes = new TierChangeOutcome[changes.Count];
        for (var i = 0; i < changes.Count; i++)
        {
            var (id, change) = changes[i];
            if (!current.TryGetValue(id, out var row))
            {
                outcomes[i] = new TierChangeOutcome(id, null, $"tier object {id} not found");
                continue;
            }
            if (row.HostId != hostId)
            {
                outcomes[i] = new TierChangeOutcome(id, null, $"tier object {id} is not a file of host {hostId}");
                continue;
            }
            if (TierEventMoves.IsRepeat(row.Snapshot, change) || change.ReportId is { } report && report == row.LastReportId)
            {
                outcomes[i] = new TierChangeOutcome(id, row.ToInfo(), null);
                continue;
            }
            TierObjectSnapshot next;
            try
            {
                next = _moves.Apply(row.Snapshot, change);
            }
            catch (IllegalTierTransitionException exception)
            {
                outcomes[i] = new TierChangeOutcome(id, null, exception.Message);
                continue;
            }
            entries.Add(Entry(row, next, change));
            var after = row with { Snapshot = next, LastReportId = change.ReportId ?? row.LastReportId };
            current[id] = moved[id] = after;
            if (change.Kind == TierEventKind.Recalled)
            {
                recalledFiles.Add(row.FileCurrentId);
            }
            else if (next.State == TierState.Stubbed && row.Snapshot.State != TierState.Stubbed)
            {
                stubbedFiles.Add(row.FileCurrentId);
            }
            outcomes[i] = new TierChangeOutcome(id, after.ToInfo(), null);
        }
        if (moved.Count > 0 || alsoAudited.Count > 0)
        {
            await TierObjectRows.WriteAsync(connection, transaction, [.. moved.Values], cancellationToken);
            await MarkRecalledAsync(connection, transaction, recalledFiles, cancellationToken);
            await MarkStubbedAsync(connection, transaction, stubbedFiles, cancellationToken);
            // Last: appending locks the tenant's audit chain until the commit, and every host of the tenant waits on it.
            await AuditLog.AppendAsync(connection, transaction, [.. entries, .. alsoAudited], cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            foreach (var row in moved.Values)
            {
                live?.Note(row.TenantId, row.HostId, row.Snapshot.State.ToString().ToUpperInvariant(), row.SizeBytes);
            }
        }
        return outcomes;
    }

    /// <summary>
    /// Removes the records of files gone from the host (a stub deleted there), in one transaction:
    /// only this host's STUBBED or LOST records, each removal audited (tier.closed). Returns the
    /// records removed; their objects are no longer referenced, and fall to the orphan rules.
    /// </summary>
    public async Task<TierObjectInfo[]> CloseAsync(Guid hostId, IReadOnlyList<long> ids, string actor, string reason, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return [];
        }
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var closing = (await TierObjectRows.LockAsync(connection, transaction, [.. ids.Distinct()], cancellationToken))
            .Where(row => row.HostId == hostId && row.Snapshot.State is TierState.Stubbed or TierState.Lost)
            .ToList();
        if (closing.Count == 0)
        {
            return [];
        }
        await using (var delete = new NpgsqlCommand("DELETE FROM alto.tier_object WHERE id = ANY($1)", connection, transaction))
        {
            delete.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. closing.Select(row => row.Id)] });
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        await AuditLog.AppendAsync(connection, transaction, [.. closing.Select(row => new AuditEntry(
            row.TenantId, actor, "tier.closed", "tier_object", row.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Succeeded: true,
            new Dictionary<string, object?>
            {
                ["hostId"] = row.HostId, ["path"] = row.FullPath, ["from"] = TierObjectRows.StateName(row.Snapshot.State), ["reason"] = reason,
                ["locator"] = row.Snapshot.Locator, ["targetId"] = row.TargetId,
            }) { HostId = row.HostId, Path = row.FullPath })], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return [.. closing.Select(row => row.ToInfo())];
    }

    public async Task<TierObjectInfo?> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return (await TierObjectRows.ReadAsync(connection, id, cancellationToken))?.ToInfo();
    }

    private static AuditEntry Entry(TierObjectRow row, TierObjectSnapshot next, TierEvent change) => new(
        row.TenantId, change.Actor, $"tier.{change.Kind.ToString().ToLowerInvariant()}", "tier_object",
        row.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Succeeded: !TierEventMoves.IsFailure(change.Kind),
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
            ["attempts"] = next.Attempts,
        }) { HostId = row.HostId, Path = row.FullPath };

    /// <summary>The file is a stub now: the inventory says so at once (capacity analytics count it tiered), not at the next scan.</summary>
    private static async Task MarkStubbedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<long> fileCurrentIds, CancellationToken cancellationToken)
    {
        if (fileCurrentIds.Count == 0)
        {
            return;
        }
        await using var command = new NpgsqlCommand(
            "UPDATE alto.file_current SET is_stub = true, updated_utc = now() WHERE file_current_id = ANY($1) AND NOT is_stub", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. fileCurrentIds] });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A recall is an access: the inventory says so (source 'recall'), so the planner sees the file warm.</summary>
    private static async Task MarkRecalledAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<long> fileCurrentIds, CancellationToken cancellationToken)
    {
        if (fileCurrentIds.Count == 0)
        {
            return;
        }
        await using var command = new NpgsqlCommand("""
            UPDATE alto.file_current
            SET atime_unix = greatest(atime_unix, extract(epoch FROM now())::bigint), last_accessed_source = 'recall',
                atime_updated_utc = now(), is_stub = false, updated_utc = now()
            WHERE file_current_id = ANY($1)
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. fileCurrentIds] });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>The changes a <see cref="PrepareBatch"/> decided, and audit entries of its own to commit with them.</summary>
public sealed record LedgerBatch(IReadOnlyList<TierChange> Changes, IReadOnlyList<AuditEntry> AlsoAudited);

/// <summary>Work done first in the ledger's transaction, deciding the batch the ledger then applies.</summary>
public delegate Task<LedgerBatch> PrepareBatch(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken);
