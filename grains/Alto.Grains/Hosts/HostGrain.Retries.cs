using Alto.Audit;
using Alto.GrainInterfaces.Common;
using Alto.Grains.Tiers;
using Microsoft.Extensions.Logging;

namespace Alto.Grains.Hosts;

/// <summary>
/// Files whose tiering failed are tried again, and given up after the last attempt. The failure
/// set the file's next attempt (exponential backoff, <see cref="Tiers.TierRetryOptions"/>); the
/// host wakes when the earliest is due, plans (a due file goes into a new job, its attempts counted
/// on) and dispatches. A file that failed its last attempt goes ABANDONED, its original left on
/// tier 1: an error in the log, a failed entry in the audit trail and the alto.tier.abandoned
/// metric. The periodic plan reminder sweeps too, so a restarted silo misses nothing.
/// </summary>
public sealed partial class HostGrain
{
    private IGrainTimer? _retryTimer;

    /// <summary>Abandons what used its last attempt, plans again when a retry is due, and waits for the next one.</summary>
    private async Task SweepRetriesAsync()
    {
        if (!host.State.Exists)
        {
            return;
        }
        var maxAttempts = retryOptions.Value.MaxAttempts;
        var exhausted = await tierObjects.ExhaustedAsync(Id, maxAttempts);
        var givenUp = new TierEvent(TierEventKind.Abandoned, "system", Reason: $"given up after {maxAttempts} failed attempts; the original stays on tier 1");
        var abandoned = (await ledger.ApplyAsync(Id, [.. exhausted.Select(id => new TierChange(id, givenUp))], CancellationToken.None))
            .Where(outcome => outcome.Applied).Select(outcome => outcome.After!).ToArray();
        if (abandoned.Length > 0)
        {
            tieringMetrics.Abandoned(host.State.TenantId, Id, abandoned.Length);
            LogAbandoned(logger, Id, abandoned.Length, maxAttempts, abandoned[0].FullPath, abandoned[0].LastError ?? "");
        }
        if (await tierObjects.NextRetryAsync(Id, maxAttempts) is { } due && due <= time.GetUtcNow())
        {
            RequestPlan("retry due");
        }
        await ScheduleRetrySweepAsync();
    }

    /// <summary>
    /// Tries the host's abandoned files (all, or those below <paramref name="directory"/>) again,
    /// once an admin fixed what made them fail: each goes SKIPPED, audited <c>tier.retried</c>, and
    /// the host plans at once, so they go out in new jobs with a fresh count of attempts (or wait
    /// for approval, as the tenant's plans do). Returns how many.
    /// </summary>
    public async Task<CommandResult<int>> RetryAbandonedAsync(string? directory)
    {
        if (!host.State.Exists)
        {
            return CommandResult<int>.NotFound($"host {Id} not found");
        }
        if (directory is not null && InsideVolumes(directory) is null)
        {
            return CommandResult<int>.Invalid("directory", OutsideVolumes(directory));
        }
        var ids = await tierObjects.AbandonedAsync(Id, directory, Rules.HostPathFlavor.Of(host.State.Os));
        var retried = new TierEvent(TierEventKind.Retried, AuditContext.Actor, Reason: "tried again at an admin's request");
        var moved = 0;
        foreach (var batch in ids.Chunk(RetriedPerTransaction))
        {
            moved += (await ledger.ApplyAsync(Id, [.. batch.Select(id => new TierChange(id, retried))], CancellationToken.None)).Count(outcome => outcome.Applied);
        }
        if (moved > 0)
        {
            RequestPlan("abandoned files retried");
        }
        return CommandResult<int>.Ok(moved);
    }

    /// <summary>One transaction moves at most this many: a host may have abandoned a million files when its tier 2 went away.</summary>
    private const int RetriedPerTransaction = 1_000;

    /// <summary>Wakes the host when its next failed file is due (one timer; a later failure moves it).</summary>
    private async Task ScheduleRetrySweepAsync()
    {
        _retryTimer?.Dispose();
        _retryTimer = null;
        if (await tierObjects.NextRetryAsync(Id, retryOptions.Value.MaxAttempts) is not { } due)
        {
            return;
        }
        var wait = due - time.GetUtcNow();
        _retryTimer = this.RegisterGrainTimer(_ => SweepRetriesAsync(),
            new GrainTimerCreationOptions(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, Timeout.InfiniteTimeSpan));
    }

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Host {HostId}: {Count} file(s) abandoned after {Attempts} failed tiering attempts, e.g. {Path}: {LastError}")]
    private static partial void LogAbandoned(ILogger logger, Guid hostId, int count, int attempts, string path, string lastError);
}
