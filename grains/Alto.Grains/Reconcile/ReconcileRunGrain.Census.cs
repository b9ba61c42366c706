using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Reconcile;
using Microsoft.Extensions.Logging;

namespace Alto.Grains.Reconcile;

/// <summary>
/// The census: once the listing is whole, each online host with stubs of the target is asked what
/// is at their paths, and the run classifies when the last answer is in.
/// </summary>
public sealed partial class ReconcileRunGrain
{
    public async Task<CommandResult<CensusReceipt>> RecordCensusAsync(Guid tenantId, Guid hostId, StubFact[] facts)
    {
        if (await rows.ReadAsync(Id) is not { } run || run.TenantId != tenantId)
        {
            return CommandResult<CensusReceipt>.NotFound($"reconcile run {Id} not found");
        }
        if (run.Status != ReconcileRunInfo.Census)
        {
            // A report sent again after the run ended (its answer was lost) changes nothing.
            return CommandResult<CensusReceipt>.Ok(new CensusReceipt(0, 0, run.Status));
        }
        if (CensusCheck.Problem(facts) is { } problem)
        {
            return CommandResult<CensusReceipt>.Invalid(problem.Field, problem.Message);
        }
        if (await census.RecordCensusAsync(Id, hostId, CensusCheck.Storable(facts), time.GetUtcNow()) is not { } recorded)
        {
            return CommandResult<CensusReceipt>.Invalid("facts", "the report names a path this run did not ask this host about");
        }
        if (recorded.Pending > 0)
        {
            return CommandResult<CensusReceipt>.Ok(new CensusReceipt(recorded.Taken, recorded.Pending, ReconcileRunInfo.Census));
        }
        RunAfterAnswer(run, () => ClassifyAsync(run));
        return CommandResult<CensusReceipt>.Ok(new CensusReceipt(recorded.Taken, 0, ClassifyingStatus));
    }

    public async Task LeaveEscapedUncheckedAsync(Guid hostId, string reason)
    {
        if (await rows.ReadAsync(Id) is not { Status: ReconcileRunInfo.Census } run)
        {
            return;
        }
        LogEscapedUnchecked(logger, Id, hostId, await census.LeaveEscapedUncheckedAsync(Id, hostId), reason);
        if (await census.PendingAsync(Id) == 0)
        {
            RunAfterAnswer(run, () => ClassifyAsync(run));
        }
    }

    /// <summary>The tenant's online Windows hosts whose agent answers a census (an earlier one does not: their stubs count unchecked).</summary>
    private async Task<Guid[]> WindowsHostsAnsweringCensusAsync(Guid tenantId)
    {
        var answering = new List<Guid>();
        foreach (var hostId in await census.OnlineWindowsHostsAsync(tenantId))
        {
            if (await grains.GetGrain<IHostGrain>(hostId.ToString()).AnswersWindowsCensusAsync())
            {
                answering.Add(hostId);
            }
        }
        return [.. answering];
    }

    /// <summary>
    /// The listing is whole: each online host with stubs of the target is asked what is at their
    /// paths; with nothing to ask, the run classifies at once. Names that are not UTF-8 go to an
    /// agent that reads them; for another, they are left unchecked (before any other path is
    /// queued, so no answer can find the run waiting for paths it will not ask).
    /// </summary>
    private async Task BeginCensusAsync(ReconcileRunInfo run)
    {
        var queuedAny = false;
        foreach (var (hostId, paths) in await census.BeginCensusAsync(run, time.GetUtcNow(), await WindowsHostsAnsweringCensusAsync(run.TenantId)))
        {
            var host = grains.GetGrain<IHostGrain>(hostId.ToString());
            if (paths.Escaped.Length > 0)
            {
                if ((await host.RequestCensusAsync(Id, paths.Escaped, pathsEscaped: true)).Error is { } notAsked)
                {
                    LogEscapedUnchecked(logger, Id, hostId, await census.LeaveEscapedUncheckedAsync(Id, hostId), notAsked.Message);
                }
                else
                {
                    queuedAny = true;
                }
            }
            if (paths.Plain.Length > 0)
            {
                if ((await host.RequestCensusAsync(Id, paths.Plain, pathsEscaped: false)).Error is { } error)
                {
                    await EndAsync(run, ReconcileRunInfo.Failed, $"the census could not be queued for host {hostId}: {error.Message}", [], new Dictionary<string, long>());
                    return;
                }
                queuedAny = true;
            }
        }
        if (!queuedAny)
        {
            await ClassifyAsync(run);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile run {RunId}: {Count} stub path(s) of host {HostId} whose names are not UTF-8 are left unchecked: {Reason}")]
    private static partial void LogEscapedUnchecked(ILogger logger, Guid runId, Guid hostId, int count, string reason);
}
