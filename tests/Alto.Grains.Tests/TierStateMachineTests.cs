using Alto.GrainInterfaces.Tiers;
using Alto.Grains.Tiers;
using Microsoft.Extensions.Time.Testing;

namespace Alto.Grains.Tests;

[Trait("Layer", "Unit")]
public sealed class TierStateMachineTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// The life cycle of DESIGN.md §2 written out independently of the implementation: every
    /// pair not listed here must throw.
    /// </summary>
    private static readonly HashSet<(TierState From, TierState To)> ExpectedLegal =
    [
        (TierState.Planned, TierState.Dispatched),
        (TierState.Planned, TierState.Skipped),
        (TierState.Planned, TierState.Failed),
        (TierState.Dispatched, TierState.Uploading),
        (TierState.Dispatched, TierState.Skipped),
        (TierState.Dispatched, TierState.Failed),
        (TierState.Uploading, TierState.Uploaded),
        (TierState.Uploading, TierState.Failed),
        (TierState.Uploaded, TierState.Stubbed),
        (TierState.Uploaded, TierState.Failed),
        (TierState.Stubbed, TierState.Recalling),
        (TierState.Recalling, TierState.Recalled),
        (TierState.Recalling, TierState.Failed),
        (TierState.Recalled, TierState.Planned),
        (TierState.Skipped, TierState.Planned),
        (TierState.Failed, TierState.Planned),
        (TierState.Failed, TierState.Recalling),
        (TierState.Failed, TierState.Abandoned),
        (TierState.Abandoned, TierState.Skipped),
        (TierState.Stubbed, TierState.Lost),
        (TierState.Lost, TierState.Stubbed),
        (TierState.Lost, TierState.Recalled),
    ];

    public static TheoryData<TierState, TierState> AllPairs()
    {
        var data = new TheoryData<TierState, TierState>();
        foreach (var from in Enum.GetValues<TierState>())
        {
            foreach (var to in Enum.GetValues<TierState>())
            {
                data.Add(from, to);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AllPairs))]
    public void EveryPairIsLegalExactlyWhenTheLifeCycleSaysSo(TierState from, TierState to)
    {
        var machine = new TierStateMachine(new FakeTimeProvider(Start));
        var current = SnapshotThatSatisfiesGuards(from, to);
        var details = new TierTransitionDetails(Hash: "sha256:ab", Locator: "t1/ab", Error: "boom");

        if (ExpectedLegal.Contains((from, to)))
        {
            var next = machine.Transition(current, to, details);
            Assert.Equal(to, next.State);
        }
        else
        {
            var error = Assert.Throws<IllegalTierTransitionException>(() => machine.Transition(current, to, details));
            Assert.Equal(from, error.From);
            Assert.Equal(to, error.To);
        }
    }

    [Fact]
    public void TheTableCoversEveryState() =>
        Assert.All(Enum.GetValues<TierState>(), state => Assert.Equal(
            ExpectedLegal.Where(pair => pair.From == state).Select(pair => pair.To).Order(),
            Enum.GetValues<TierState>().Where(to => TierStateMachine.IsListed(state, to)).Order()));

    [Theory]
    [InlineData(null, "t1/ab")]
    [InlineData("sha256:ab", null)]
    [InlineData("  ", "t1/ab")]
    public void UploadedNeedsAVerifiedHashAndALocator(string? hash, string? locator)
    {
        var machine = new TierStateMachine(new FakeTimeProvider(Start));
        var uploading = Snapshot(TierState.Uploading);
        Assert.Throws<IllegalTierTransitionException>(() =>
            machine.Transition(uploading, TierState.Uploaded, new TierTransitionDetails(hash, locator)));
    }

    [Fact]
    public void FailureNeedsAReason()
    {
        var machine = new TierStateMachine(new FakeTimeProvider(Start));
        Assert.Throws<IllegalTierTransitionException>(() =>
            machine.Transition(Snapshot(TierState.Uploading), TierState.Failed, new TierTransitionDetails()));
    }

    [Fact]
    public void ALossMustSayWhatIsWrongAndKeepsIt()
    {
        var machine = new TierStateMachine(new FakeTimeProvider(Start));
        var stubbed = Snapshot(TierState.Stubbed);

        Assert.Throws<IllegalTierTransitionException>(() => machine.Transition(stubbed, TierState.Lost, new TierTransitionDetails(Error: " ")));
        var lost = machine.Transition(stubbed, TierState.Lost, new TierTransitionDetails(Error: "tier-2 object is gone"));
        Assert.Equal((TierState.Lost, "tier-2 object is gone"), (lost.State, lost.LastError));
        Assert.Throws<IllegalTierTransitionException>(() => machine.Transition(lost, TierState.Recalling));
        Assert.Throws<IllegalTierTransitionException>(() => machine.Transition(lost, TierState.Planned));
        Assert.Equal((TierState.Stubbed, null), (machine.Transition(lost, TierState.Stubbed).State, machine.Transition(lost, TierState.Stubbed).LastError));
    }

    [Fact]
    public void FailuresBackOffExponentiallyAndAreAbandonedAfterThreeAttempts()
    {
        var time = new FakeTimeProvider(Start);
        var machine = new TierStateMachine(time, maxAttempts: 3, retryBase: TimeSpan.FromMinutes(1));
        var failure = new TierTransitionDetails(Error: "network down");
        var state = Snapshot(TierState.Dispatched);

        state = machine.Transition(state, TierState.Failed, failure);
        Assert.Equal((1, Start.AddMinutes(1)), (state.Attempts, state.NextAttemptAt));

        state = machine.Transition(machine.Transition(state, TierState.Planned), TierState.Failed, failure);
        Assert.Equal((2, Start.AddMinutes(2)), (state.Attempts, state.NextAttemptAt));

        state = machine.Transition(machine.Transition(state, TierState.Planned), TierState.Failed, failure);
        Assert.Equal(3, state.Attempts);
        Assert.Null(state.NextAttemptAt);

        // No fourth try: the retry is refused and the object can only be abandoned.
        Assert.Throws<IllegalTierTransitionException>(() => machine.Transition(state, TierState.Planned));
        var abandoned = machine.Transition(state, TierState.Abandoned);
        Assert.Equal(TierState.Abandoned, abandoned.State);

        // Tried again at an admin's request (the cause fixed): skipped, then planned from a fresh count.
        var retried = new TierEventMoves(machine).Apply(abandoned, new TierEvent(TierEventKind.Retried, "user:alice", Reason: "tried again"));
        Assert.Equal((TierState.Skipped, "tried again"), (retried.State, retried.LastError));
        Assert.Equal((TierState.Planned, 0), (machine.Transition(retried, TierState.Planned).State, machine.Transition(retried, TierState.Planned).Attempts));
        Assert.Throws<IllegalTierTransitionException>(() => new TierEventMoves(machine).Apply(retried, new TierEvent(TierEventKind.Retried, "user:alice")));
    }

    [Fact]
    public void ADeclinedFileIsSkippedAndHeldForItsPauseAndOnlyAPlannedOneIsDeclined()
    {
        var time = new FakeTimeProvider(Start);
        var moves = new TierEventMoves(new TierStateMachine(time));
        var decline = new TierEvent(TierEventKind.Declined, "user:alice", Reason: "declined by user:alice") { Hold = TimeSpan.FromDays(3) };

        var held = moves.Apply(Snapshot(TierState.Planned), decline);

        Assert.Equal((TierState.Skipped, "declined by user:alice", Start + TimeSpan.FromDays(3)), (held.State, held.LastError, held.NextAttemptAt));
        Assert.True(TierEventMoves.IsRepeat(held, decline));
        Assert.False(TierEventMoves.IsFailure(TierEventKind.Declined));
        // A file already on its way, or one declined without a hold (which the planner would take back at once), is not declined.
        Assert.Throws<IllegalTierTransitionException>(() => moves.Apply(Snapshot(TierState.Dispatched), decline));
        Assert.Throws<IllegalTierTransitionException>(() => moves.Apply(Snapshot(TierState.Planned), decline with { Hold = null }));
        Assert.Throws<IllegalTierTransitionException>(() => moves.Apply(Snapshot(TierState.Planned), decline with { Hold = TimeSpan.Zero }));
        // An agent's skip holds nothing back.
        var skipped = moves.Apply(Snapshot(TierState.Planned), new TierEvent(TierEventKind.Skipped, "host:x", Reason: "locked"));
        Assert.Null(skipped.NextAttemptAt);

        // Released at an admin's request: still skipped, held no longer; only a held file is released.
        var release = new TierEvent(TierEventKind.Released, "user:bob", Reason: "released by user:bob");
        var released = moves.Apply(held, release);
        Assert.Equal((TierState.Skipped, null, "released by user:bob"), (released.State, released.NextAttemptAt, released.LastError));
        Assert.True(TierEventMoves.IsRepeat(released, release));
        Assert.Throws<IllegalTierTransitionException>(() => moves.Apply(skipped, release));
        Assert.Throws<IllegalTierTransitionException>(() => moves.Apply(Snapshot(TierState.Planned), release));
        time.Advance(TimeSpan.FromDays(4));
        Assert.Throws<IllegalTierTransitionException>(() => moves.Apply(held, release));
    }

    [Fact]
    public void AFileOfACancelledJobIsHeldWhetherPlannedOrLeftByTheAgentAndAStubIsNeverCancelled()
    {
        var moves = new TierEventMoves(new TierStateMachine(new FakeTimeProvider(Start)));
        var cancel = new TierEvent(TierEventKind.Cancelled, "agent:h", Reason: "cancelled by user:alice") { Hold = TimeSpan.FromDays(2) };

        foreach (var state in new[] { TierState.Planned, TierState.Dispatched })
        {
            var held = moves.Apply(Snapshot(state), cancel);
            Assert.Equal((TierState.Skipped, "cancelled by user:alice", Start + TimeSpan.FromDays(2)), (held.State, held.LastError, held.NextAttemptAt));
            Assert.True(TierEventMoves.IsRepeat(held, cancel));
        }
        Assert.False(TierEventMoves.IsFailure(TierEventKind.Cancelled));
        // A file made a stub (or failed) is what it is; a cancellation without a hold would be planned again at once.
        Assert.Throws<IllegalTierTransitionException>(() => moves.Apply(Snapshot(TierState.Stubbed), cancel));
        Assert.Throws<IllegalTierTransitionException>(() => moves.Apply(Snapshot(TierState.Failed), cancel));
        Assert.Throws<IllegalTierTransitionException>(() => moves.Apply(Snapshot(TierState.Dispatched), cancel with { Hold = null }));
    }

    [Fact]
    public void AbandonBeforeTheAttemptsAreUsedIsRefused()
    {
        var machine = new TierStateMachine(new FakeTimeProvider(Start));
        var failedOnce = machine.Transition(Snapshot(TierState.Uploading), TierState.Failed, new TierTransitionDetails(Error: "x"));
        Assert.Throws<IllegalTierTransitionException>(() => machine.Transition(failedOnce, TierState.Abandoned));
    }

    [Fact]
    public void AFailedRecallResumesAsARecallNotAsANewPlan()
    {
        var machine = new TierStateMachine(new FakeTimeProvider(Start));
        var failed = machine.Transition(Snapshot(TierState.Recalling), TierState.Failed, new TierTransitionDetails(Error: "tier-2 unreachable"));

        Assert.Equal(TierPhase.Recall, failed.FailedDuring);
        Assert.Throws<IllegalTierTransitionException>(() => machine.Transition(failed, TierState.Planned));
        Assert.Equal(TierState.Recalling, machine.Transition(failed, TierState.Recalling).State);
    }

    [Fact]
    public void RecallCountsTheAccessAndAFreshPlanStartsClean()
    {
        var time = new FakeTimeProvider(Start);
        var machine = new TierStateMachine(time);
        var stubbed = Snapshot(TierState.Stubbed) with { Hash = "sha256:ab", Locator = "t1/ab", Attempts = 0 };

        var recalled = machine.Transition(machine.Transition(stubbed, TierState.Recalling), TierState.Recalled);
        Assert.Equal((1L, Start), (recalled.AccessCount, recalled.LastAccessedAt!.Value));

        time.Advance(TimeSpan.FromDays(30));
        var replanned = machine.Transition(recalled, TierState.Planned);
        Assert.Equal((TierState.Planned, Start.AddDays(30)), (replanned.State, replanned.PlannedAt!.Value));
        Assert.Null(replanned.Hash);
        Assert.Equal(0, replanned.Attempts);
    }

    private static TierObjectSnapshot Snapshot(TierState state) =>
        TierObjectSnapshot.NewlyPlanned(Start) with { State = state };

    /// <summary>A snapshot in <paramref name="from"/> whose data lets a listed move pass its guards.</summary>
    private static TierObjectSnapshot SnapshotThatSatisfiesGuards(TierState from, TierState to)
    {
        var snapshot = Snapshot(from);
        if (from != TierState.Failed)
        {
            return snapshot;
        }
        return to switch
        {
            TierState.Abandoned => snapshot with { Attempts = TierStateMachine.DefaultMaxAttempts },
            TierState.Recalling => snapshot with { Attempts = 1, FailedDuring = TierPhase.Recall },
            _ => snapshot with { Attempts = 1, FailedDuring = TierPhase.Tiering },
        };
    }
}
