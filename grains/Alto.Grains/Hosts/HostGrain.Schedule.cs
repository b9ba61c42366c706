using Alto.GrainInterfaces.Hosts;
using Microsoft.Extensions.Logging;

namespace Alto.Grains.Hosts;

/// <summary>
/// What makes the host's inventory planned again: a completed scan (after the stubs it found
/// recalled are reconciled), the periodic reminder (with the hybrid mode's full scans and the retry
/// sweep), and due retries. Planning itself is the <see cref="HostInventoryGrain"/>'s; it tells
/// this grain when a plan is done, and queued jobs are dispatched then.
/// </summary>
public sealed partial class HostGrain
{
    private const string PlanReminder = "plan";
    private DateTimeOffset? _lastPlannedAt;

    public async Task PlanCompletedAsync(DateTimeOffset plannedAt)
    {
        _lastPlannedAt = plannedAt;
        if (_observer is not null)
        {
            await DispatchAsync();
        }
    }

    /// <summary>Asks the host's inventory grain for a plan; it runs there, and this grain hears when it is done.</summary>
    private void RequestPlan(string trigger) => GrainFactory.GetGrain<IHostInventoryGrain>(this.GetPrimaryKeyString()).RequestPlanAsync(trigger).Ignore();

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != PlanReminder)
        {
            return;
        }
        if (!host.State.Exists)
        {
            // The host is gone: nothing to plan, ever again.
            if (await this.GetReminder(PlanReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }
            return;
        }
        // Hybrid mode: a LucidLink host's trail keeps access times fresh; a full scan now and then catches the rest.
        // One scan request at a time: an agent away for days does not come back to a pile of them.
        if (host.State.LucidLink is { } lucid && lucid.FullScanDue(host.State.LastScanAt, time.GetUtcNow())
            && !_scanWaiting)
        {
            await RequestScanAsync([], "csv");
        }
        // Retries due while no timer of this activation waited for them (a restarted silo) are found here too.
        await SweepRetriesAsync();
        RequestPlan("schedule");
    }

    /// <summary>Registers the periodic plan once; re-registering would rewrite the reminder row on every scan.</summary>
    private async Task EnsurePlanScheduleAsync()
    {
        if (await this.GetReminder(PlanReminder) is null)
        {
            var interval = plannerOptions.Value.Interval;
            await this.RegisterOrUpdateReminder(PlanReminder, interval, interval);
        }
    }

    public async Task RecordScanAsync(DateTimeOffset completedAt, long fileCount, long totalBytes)
    {
        if (!host.State.Exists)
        {
            return;
        }
        await ChangeAsync(state =>
        {
            state.LastScanAt = completedAt;
            state.FileCount = fileCount;
            state.TotalBytes = totalBytes;
            state.UpdatedAt = time.GetUtcNow();
        });
        await ReconcileRecalledStubsAsync();
        await EnsurePlanScheduleAsync();
        RequestPlan("scan completed");
    }

    /// <summary>
    /// What the disk says wins: a stub the scan found holding its data again was recalled, even if
    /// the report of it was lost; its tier object goes RECALLED (audited with why) before the plan.
    /// </summary>
    private async Task ReconcileRecalledStubsAsync()
    {
        var found = await tierObjects.StubsFoundRecalledAsync(Id);
        var recalled = new Tiers.TierEvent(Tiers.TierEventKind.Recalled, $"host:{Id}",
            Reason: "a scan found the file's data back on disk (its recall was not reported)");
        await ledger.ApplyAsync(Id, [.. found.Select(id => new Tiers.TierChange(id, recalled))], CancellationToken.None);
        if (found.Length > 0)
        {
            LogReconciled(logger, Id, found.Length);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId}: the scan found {Count} stub(s) recalled whose recall was never reported; their tier objects are RECALLED now")]
    private static partial void LogReconciled(ILogger logger, Guid hostId, int count);
}
