using Alto.GrainInterfaces.Tiers;

namespace Alto.Grains.Tiers;

/// <summary>
/// What an event does to one tier object, as pure code over <see cref="TierStateMachine"/>: the
/// life-cycle moves it stands for (a stubbed result walks DISPATCHED → UPLOADING → UPLOADED →
/// STUBBED), and whether it is a repeat of the event that brought the object where it is.
/// </summary>
public sealed class TierEventMoves(TierStateMachine machine)
{
    /// <summary>The object after the event; throws <see cref="IllegalTierTransitionException"/> for a move the life cycle forbids.</summary>
    public TierObjectSnapshot Apply(TierObjectSnapshot current, TierEvent change) => change.Kind switch
    {
        TierEventKind.Dispatched => machine.Transition(current, TierState.Dispatched),
        TierEventKind.Stubbed => machine.Transition(
            machine.Transition(
                current.State == TierState.Dispatched ? machine.Transition(current, TierState.Uploading) : current,
                TierState.Uploaded, new TierTransitionDetails(change.Hash, change.Locator)),
            TierState.Stubbed),
        TierEventKind.Skipped => machine.Transition(current, TierState.Skipped, new TierTransitionDetails(Error: change.Reason)),
        TierEventKind.Failed => machine.Transition(
            current.State == TierState.Dispatched ? machine.Transition(current, TierState.Uploading) : current,
            TierState.Failed, new TierTransitionDetails(Error: change.Reason ?? "the agent reported a failure")),
        TierEventKind.Recalling => machine.Transition(current, TierState.Recalling),
        TierEventKind.Recalled => machine.Transition(
            current.State == TierState.Stubbed ? machine.Transition(current, TierState.Recalling) : current, TierState.Recalled),
        TierEventKind.RecallFailed => machine.Transition(
            current.State == TierState.Stubbed ? machine.Transition(current, TierState.Recalling) : current,
            TierState.Failed, new TierTransitionDetails(Error: change.Reason ?? "the recall failed")),
        TierEventKind.Abandoned => machine.Transition(current, TierState.Abandoned),
        TierEventKind.Refused => machine.Transition(current, TierState.Skipped,
            new TierTransitionDetails(Error: change.Reason ?? "the agent refused the file", Refused: true)),
        TierEventKind.Lost => machine.Transition(current, TierState.Lost, new TierTransitionDetails(Error: change.Reason)),
        TierEventKind.Found => machine.Transition(current, TierState.Stubbed),
        TierEventKind.Retried => current.State == TierState.Abandoned
            ? machine.Transition(current, TierState.Skipped, new TierTransitionDetails(Error: change.Reason))
            : throw new IllegalTierTransitionException(current.State, TierState.Skipped, "only an abandoned file is tried again at an admin's request"),
        TierEventKind.Declined => current.State == TierState.Planned && change.Hold is { } hold && hold > TimeSpan.Zero
            ? machine.Transition(current, TierState.Skipped, new TierTransitionDetails(Error: change.Reason, Hold: hold))
            : throw new IllegalTierTransitionException(current.State, TierState.Skipped, "only a planned file is declined, and for a positive hold"),
        TierEventKind.Cancelled => current.State is TierState.Planned or TierState.Dispatched && change.Hold is { } pause && pause > TimeSpan.Zero
            ? machine.Transition(current, TierState.Skipped, new TierTransitionDetails(Error: change.Reason, Hold: pause))
            : throw new IllegalTierTransitionException(current.State, TierState.Skipped, "only a planned or dispatched file is cancelled, and for a positive hold"),
        TierEventKind.Released => machine.Release(current, change.Reason ?? "released by an admin"),
        _ => throw new ArgumentOutOfRangeException(nameof(change), change.Kind, "unknown tier event"),
    };

    /// <summary>Agents repeat results after a reconnect: the same outcome on an object already there is no change.</summary>
    public static bool IsRepeat(TierObjectSnapshot current, TierEvent change) => change.Kind switch
    {
        TierEventKind.Dispatched => current.State == TierState.Dispatched,
        TierEventKind.Stubbed => current.State == TierState.Stubbed && current.Hash == change.Hash && current.Locator == change.Locator,
        TierEventKind.Skipped or TierEventKind.Refused or TierEventKind.Declined or TierEventKind.Cancelled => current.State == TierState.Skipped,
        TierEventKind.Recalling => current.State == TierState.Recalling,
        TierEventKind.Recalled => current.State == TierState.Recalled,
        TierEventKind.Abandoned => current.State == TierState.Abandoned,
        TierEventKind.Lost => current.State == TierState.Lost,
        TierEventKind.Found => current.State == TierState.Stubbed,
        TierEventKind.Released => current.State == TierState.Skipped && current.NextAttemptAt is null,
        _ => false,
    };

    /// <summary>Whether the event records a failure (its audit entry's outcome).</summary>
    public static bool IsFailure(TierEventKind kind) =>
        kind is TierEventKind.Failed or TierEventKind.RecallFailed or TierEventKind.Abandoned or TierEventKind.Refused or TierEventKind.Lost;
}
