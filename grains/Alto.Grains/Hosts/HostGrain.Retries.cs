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
    public Task<CommandResult<int>> RetryAbandonedAsync(string? directory) =>
        SendOnAsync(WaitingFiles.Abandoned, directory, new TierEvent(TierEventKind.Retried, AuditContext.Actor, Reason: "tried again at an admin's request"));

    /// <summary>
    /// Releases the host's held files (declined, or refused by the agent; all, or below
    /// <paramref name="directory"/>) before their pause is over: audited <c>tier.released</c>, and
    /// the host plans at once. Returns how many.
    /// </summary>
    public Task<CommandResult<int>> ReleaseHeldAsync(string? directory) =>
        SendOnAsync(WaitingFiles.Held, directory, new TierEvent(TierEventKind.Released, AuditContext.Actor, Reason: $"released by {AuditContext.Actor}"));

    private async Task<CommandResult<int>> SendOnAsync(WaitingFiles waiting, string? directory, TierEvent sendOn)
    {
        if (!host.State.Exists)
        {
            return CommandResult<int>.NotFound($"host {Id} not found");
        }
        if (directory is not null && InsideVolumes(directory) is null)
        {
            return CommandResult<int>.Invalid("directory", OutsideVolumes(directory));
        }
        var ids = await tierObjects.WaitingAsync(Id, waiting, directory, Rules.HostPathFlavor.Of(host.State.Os));
        var moved = 0;
        foreach (var batch in ids.Chunk(SentOnPerTransaction))
        {
            moved += (await ledger.ApplyAsync(Id, [.. batch.Select(id => new TierChange(id, sendOn))], CancellationToken.None)).Count(outcome => outcome.Applied);
        }
        if (moved > 0)
        {
            RequestPlan(waiting == WaitingFiles.Abandoned ? "abandoned files retried" : "held files released");
        }
        return CommandResult<int>.Ok(moved);
    }

    /// <summary>One transaction moves at most this many: a host may have abandoned a million files when its tier 2 went away.</summary>
    private const int SentOnPerTransaction = 1_000;

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
