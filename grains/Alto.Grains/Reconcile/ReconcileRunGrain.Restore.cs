using Alto.Audit;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Reconcile;
using Alto.Grains.Tiers;
using Microsoft.Extensions.Logging;

namespace Alto.Grains.Reconcile;

/// <summary>
/// Re-tiering lost stubs from intact copies: when a stub's object is gone but a record of the
/// same content (SHA-256 and size) has a real file on an online host — recalled there, or
/// uploaded and not yet stubbed — that host's agent hashes the file and, if it still matches,
/// uploads it to the lost object's key; the LOST record is then STUBBED again, audited.
/// </summary>
public sealed partial class ReconcileRunGrain
{
    /// <summary>
    /// Queues each copy's host once the findings are kept; a host that cannot be asked fails its
    /// re-tiers with the reason. Copies whose names are not UTF-8 are read only by an agent that
    /// reads such names: another would take their escaped text for a name and find no file.
    /// </summary>
    private async Task QueueRestoresAsync(ReconcileRunInfo run, IReadOnlyCollection<IntactCopy> copies)
    {
        foreach (var byHost in copies.GroupBy(copy => copy.CopyHostId))
        {
            var host = grains.GetGrain<IHostGrain>(byHost.Key.ToString());
            if (byHost.Any(copy => copy.CopyPathEscaped) && !await host.ReadsEscapedNamesAsync())
            {
                await RecordSettledAsync(run.TenantId, await restores.FailPendingAsync(Id, byHost.Key, NotReadByTheAgent, escapedOnly: true));
                if (byHost.All(copy => copy.CopyPathEscaped))
                {
                    continue;
                }
            }
            var queued = await host.RequestRestoreAsync(Id);
            if (queued.Error is { } error)
            {
                await RecordSettledAsync(run.TenantId, await restores.FailPendingAsync(Id, byHost.Key, $"the re-tier could not be queued for host {byHost.Key}: {error.Message}"));
            }
        }
    }

    /// <summary>
    /// The re-tiers a copy's host is to make. Those from copies whose names are not UTF-8 were
    /// queued for an agent that reads such names; one that came back as an earlier version since
    /// (a downgrade) would report the copy gone: they fail, saying why, and it is given the rest.
    /// </summary>
    public async Task<CommandResult<RestoreItem[]>> GetRestoresAsync(Guid tenantId, Guid hostId)
    {
        if (await rows.ReadAsync(Id) is not { } run || run.TenantId != tenantId)
        {
            return CommandResult<RestoreItem[]>.NotFound($"reconcile run {Id} not found");
        }
        var pending = await restores.PendingAsync(Id, hostId);
        if (pending.Any(item => item.PathEscaped) && !await grains.GetGrain<IHostGrain>(hostId.ToString()).ReadsEscapedNamesAsync())
        {
            await RecordSettledAsync(run.TenantId, await restores.FailPendingAsync(Id, hostId, NotReadByTheAgent, escapedOnly: true));
            pending = [.. pending.Where(item => !item.PathEscaped)];
        }
        return CommandResult<RestoreItem[]>.Ok(pending);
    }

    private const string NotReadByTheAgent = "the copy's name is not UTF-8, and the host's agent does not read such names (an earlier version, or not connected)";

    public async Task<CommandResult<RestoreReceipt>> RecordRestoresAsync(Guid tenantId, Guid hostId, RestoreResult[] results)
    {
        if (await rows.ReadAsync(Id) is not { } run || run.TenantId != tenantId)
        {
            return CommandResult<RestoreReceipt>.NotFound($"reconcile run {Id} not found");
        }
        if (results.Length is 0 or > RestoreResult.MaxPerReport)
        {
            return CommandResult<RestoreReceipt>.Invalid("results", $"a report holds 1 to {RestoreResult.MaxPerReport} results (got {results.Length})");
        }
        for (var i = 0; i < results.Length; i++)
        {
            if (!RestoreResult.Outcomes.Contains(results[i].Outcome))
            {
                return CommandResult<RestoreReceipt>.Invalid($"results[{i}].outcome", $"must be one of {string.Join(", ", RestoreResult.Outcomes)}");
            }
            if (results[i].Detail is { Length: > 1000 })
            {
                return CommandResult<RestoreReceipt>.Invalid($"results[{i}].detail", "at most 1000 characters");
            }
        }
        if (await restores.SettleAsync(Id, hostId, [.. results.Select(result => result with { Detail = AgentText.Storable(result.Detail) })]) is not { } settled)
        {
            return CommandResult<RestoreReceipt>.Invalid("results", "the report names a record this run is not re-tiering from this host");
        }
        await RecordSettledAsync(run.TenantId, settled.Settled);
        return CommandResult<RestoreReceipt>.Ok(new RestoreReceipt(settled.Settled.Count, settled.Pending));
    }

    /// <summary>
    /// What became of each settled re-tier, whoever settled it (the copy's agent, or the cluster when
    /// the agent could not be asked): the lost record's finding, a metric, an audit entry and a log line.
    /// </summary>
    private async Task RecordSettledAsync(Guid tenantId, IReadOnlyList<SettledRestore> settled)
    {
        var actor = $"reconcile:{Id}";
        foreach (var restore in settled)
        {
            var copy = $"{restore.CopyHostId}:{restore.CopyPath}";
            var repair = restore.Result.Outcome switch
            {
                RestoreResult.Restored => await MarkFoundAsync(restore, actor, copy),
                RestoreResult.Mismatch => $"marked LOST; the copy at {copy} no longer holds its content: not re-tiered",
                _ => $"marked LOST; the re-tier from the copy at {copy} failed: {restore.Result.Detail ?? "the agent gave no reason"}",
            };
            await restores.SetRepairAsync(Id, restore.Result.TierObjectId, repair);
            metrics.Retiered(tenantId, restore.Result.Outcome);
            await audit.RecordAsync(new AuditEntry(tenantId, actor, "reconcile.retiered", "tier_object",
                restore.Result.TierObjectId.ToString(System.Globalization.CultureInfo.InvariantCulture), Succeeded: restore.Result.Outcome == RestoreResult.Restored,
                new Dictionary<string, object?>
                {
                    ["runId"] = Id, ["copyHostId"] = restore.CopyHostId, ["copyPath"] = restore.CopyPath, ["outcome"] = restore.Result.Outcome,
                    ["detail"] = restore.Result.Detail, ["repair"] = repair,
                }) { HostId = restore.LostHostId, Path = restore.LostPath });
            LogRetiered(logger, Id, restore.LostPath, copy, repair);
        }
    }

    /// <summary>The copy is on tier 2 under the lost object's key: the LOST record is STUBBED again through its ledger.</summary>
    private async Task<string> MarkFoundAsync(SettledRestore restore, string actor, string copy)
    {
        var outcome = (await ledger.ApplyAsync(restore.LostHostId,
            [new TierChange(restore.Result.TierObjectId, new TierEvent(TierEventKind.Found, actor, Reason: $"re-tiered from the intact copy at {copy} (reconcile run {Id})"))],
            CancellationToken.None)).Single();
        return outcome.Applied
            ? $"marked LOST, then re-tiered from the intact copy at {copy}: STUBBED again"
            : $"re-tiered from the intact copy at {copy}; the record changed meanwhile ({outcome.Refusal})";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile run {RunId}: the lost stub {Path}, from the copy at {Copy}: {Repair}")]
    private static partial void LogRetiered(ILogger logger, Guid runId, string path, string copy, string repair);
}
