using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Reconcile;
using Microsoft.Extensions.Logging;

namespace Alto.Grains.Reconcile;

/// <summary>
/// The run's silence watch: a reminder that ends a run waiting on a host that is gone, so that no
/// run shows itself at work for ever (see <see cref="ReceiveReminder"/>).
/// </summary>
public sealed partial class ReconcileRunGrain
{
    /// <summary>
    /// A run that has heard from no agent for this long, and whose host is gone as long, ends on its
    /// own (<see cref="SilenceWatch"/>); a new run of its target asked for after it takes over.
    /// </summary>
    public static readonly TimeSpan SilentAfter = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The reminder that looks at a run while it waits for agents. A grain timer would not do: the
    /// run's grain is deactivated while it waits, and its silo may be gone when the wait ends.
    /// </summary>
    public const string SilenceWatch = "silence";

    public static readonly TimeSpan SilenceWatchPeriod = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A look at the run while it waits: one that has heard from no agent for <see cref="SilentAfter"/>
    /// does not wait for ever on a host that is gone (no heartbeat for as long). Its listing or
    /// reclaim then ends as failed, saying since when; a census goes on without such hosts (their
    /// stubs are counted unchecked, as those of hosts offline when it began, so no orphan is
    /// reclaimed) and the run is classified once no other host owes an answer; so are the escaped
    /// names owed by a host whose agent, connected now, does not read them. A host still
    /// sending heartbeats is at work (a deep listing hashing large objects, or one at a low request
    /// rate, may send no part for longer) and is waited for.
    /// </summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (await rows.ReadAsync(Id) is not { } run || !ReconcileRunInfo.IsGoing(run.Status))
        {
            await ForgetSilenceWatchAsync();
            return;
        }
        var awayBefore = time.GetUtcNow() - SilentAfter;
        if (await rows.LastHeardAsync(Id) is not { } heard || heard >= awayBefore)
        {
            return;
        }
        if (run.Status != ReconcileRunInfo.Census)
        {
            if (!await rows.HostHeardSinceAsync(run.HostId!.Value, awayBefore))
            {
                await AbandonAsync(null, $"{(run.Status == ReconcileRunInfo.Listing ? "its listing agent" : "the agent deleting its orphans")} (host {run.HostId}) "
                                         + $"sent nothing since {heard:u}, and the host has sent no heartbeat for {SilentAfter.TotalMinutes:0} minutes");
            }
            return;
        }
        var (left, stillPending) = await census.LeaveUnansweredUncheckedAsync(Id, awayBefore);
        foreach (var (hostId, paths) in left)
        {
            LogCensusUnanswered(logger, Id, hostId, paths, heard);
        }
        // An agent that does not read escaped names is never handed them, and its host tells the run
        // so, one way: should that word be lost (a silo gone between), the run would wait on it for ever.
        var tookEscaped = false;
        foreach (var hostId in await census.HostsOwingEscapedAsync(Id))
        {
            if (await grains.GetGrain<IHostGrain>(hostId.ToString()).ConnectedWithoutEscapedNamesAsync())
            {
                LogEscapedUnchecked(logger, Id, hostId, await census.LeaveEscapedUncheckedAsync(Id, hostId),
                    "the host's agent does not read names that are not UTF-8, and they were not asked of it");
                tookEscaped = true;
            }
        }
        if ((left.Count > 0 || tookEscaped) && (tookEscaped ? await census.PendingAsync(Id) : stillPending) == 0)
        {
            RunAfterAnswer(run, () => ClassifyAsync(run));
        }
    }

    private async Task ForgetSilenceWatchAsync()
    {
        if (await this.GetReminder(SilenceWatch) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Reconcile run {RunId}: host {HostId}, gone without a heartbeat, left {Paths} census path(s) unanswered (the run heard last at {Heard}); their stubs are counted unchecked and the run goes on without them")]
    private static partial void LogCensusUnanswered(ILogger logger, Guid runId, Guid hostId, long paths, DateTimeOffset heard);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile run {RunId} ended, but its silence watch could not be removed now")]
    private static partial void LogWatchKept(ILogger logger, Exception exception, Guid runId);
}
