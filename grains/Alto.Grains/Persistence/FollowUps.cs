using System.Diagnostics.Metrics;
using Alto.Audit;
using Alto.GrainInterfaces.Common;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Persistence;

/// <summary>Counts follow-ups of stored changes that had to wait (meter "Alto").</summary>
public sealed class FollowUpMetrics(IMeterFactory meters)
{
    private readonly Counter<long> _deferred = meters.Create(AltoMeter.Name).CreateFailureCounter("alto.grain.follow_ups_deferred", "{change}",
        "Stored changes whose read-model rows or audit entry could not be written at once, by grain kind; the grain writes them again until it can");

    public void Deferred(string grainKind) => _deferred.Add(1, new KeyValuePair<string, object?>("grain", grainKind));
}

/// <summary>Grain state that keeps the audit entries of its changes until they are known to be in the audit log.</summary>
public interface IHoldsAudit
{
    List<UnrecordedAudit> UnrecordedAudit { get; set; }
}

/// <summary>
/// What follows a grain's stored change — its read-model rows, then the audit entries its state
/// holds — run so that a failure there never reads as a failed change. The change is made once
/// its state write succeeds (the entry was written with it, <see cref="Hold"/>), and an error now
/// would tell the caller nothing was changed, so the call succeeds. The failure is logged and
/// counted, and the grain writes all its rows and appends what it holds on a timer that keeps it
/// active until that succeeds; a silo gone before then leaves it to the grain's next activation,
/// which does the same first.
/// </summary>
public sealed partial class FollowUps(
    Grain grain, string grainKind, Func<IHoldsAudit> state, Func<Task> writeAllRows, AdminAudit audit, FollowUpMetrics metrics, ILogger logger)
{
    public static readonly TimeSpan RetryPeriod = TimeSpan.FromSeconds(10);

    private IGrainTimer? _retry;

    /// <summary>Adds a change's entry to the state about to be written with the change.</summary>
    public static void Hold(IHoldsAudit state, UnrecordedAudit entry) => state.UnrecordedAudit = [.. state.UnrecordedAudit, entry];

    /// <summary>After a stored change: <paramref name="writeRows"/>, then every entry held. A database failure is deferred; others are the caller's.</summary>
    public async Task RunAsync(Func<Task> writeRows)
    {
        try
        {
            await writeRows();
            await AppendHeldAsync();
        }
        catch (NpgsqlException exception)
        {
            LogDeferred(logger, exception, grainKind, grain.GetPrimaryKeyString(), RetryPeriod.TotalSeconds);
            metrics.Deferred(grainKind);
            _retry ??= grain.RegisterGrainTimer(RetryAsync, new GrainTimerCreationOptions(RetryPeriod, RetryPeriod) { KeepAlive = true });
        }
    }

    /// <summary>At activation: every row as the state says, and what the state still holds appended.</summary>
    public Task ResyncAsync() => RunAsync(writeAllRows);

    private async Task AppendHeldAsync()
    {
        var held = state().UnrecordedAudit;
        await audit.AppendAsync(held);
        // Dropped from the stored state by its next write; appended again before then, each is still recorded once.
        state().UnrecordedAudit = [.. state().UnrecordedAudit.Except(held)];
    }

    private async Task RetryAsync(CancellationToken cancellationToken)
    {
        try
        {
            await writeAllRows();
            await AppendHeldAsync();
        }
        catch (NpgsqlException exception)
        {
            LogStillDeferred(logger, exception, grainKind, grain.GetPrimaryKeyString());
            return;
        }
        _retry?.Dispose();
        _retry = null;
        LogCaughtUp(logger, grainKind, grain.GetPrimaryKeyString());
    }

    [LoggerMessage(Level = LogLevel.Error,
        Message = "The {GrainKind} {Id} stored a change but could not write its read-model rows or audit entry; they are kept and written again every {Seconds} s")]
    private static partial void LogDeferred(ILogger logger, Exception exception, string grainKind, string id, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {GrainKind} {Id} still cannot write its read-model rows or audit entries")]
    private static partial void LogStillDeferred(ILogger logger, Exception exception, string grainKind, string id);

    [LoggerMessage(Level = LogLevel.Information, Message = "The {GrainKind} {Id} wrote the read-model rows and audit entries it held")]
    private static partial void LogCaughtUp(ILogger logger, string grainKind, string id);
}
