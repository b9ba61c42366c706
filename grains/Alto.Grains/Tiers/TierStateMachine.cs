using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Alto.GrainInterfaces.Tiers;

namespace Alto.Grains.Tiers;

public sealed class IllegalTierTransitionException(TierState from, TierState to, string reason)
    : InvalidOperationException($"Illegal tier transition {from} -> {to}: {reason}")
{
    public TierState From { get; } = from;

    public TierState To { get; } = to;
}

/// <summary>
/// The tiering life cycle of one file (DESIGN.md §2), as plain code: every transition is checked
/// against the table below and its guards, and an illegal one throws. The grain around it only
/// loads, applies, persists and publishes.
/// </summary>
public sealed class TierStateMachine(
    TimeProvider time, int maxAttempts = TierStateMachine.DefaultMaxAttempts, TimeSpan? retryBase = null, TimeSpan? refusedPause = null)
{
    public const int DefaultMaxAttempts = 3;

    public static readonly TimeSpan DefaultRefusedPause = TimeSpan.FromDays(7);

    /// <summary>Every legal move; guards below narrow some of them further.</summary>
    private static readonly FrozenDictionary<TierState, FrozenSet<TierState>> Legal = new Dictionary<TierState, TierState[]>
    {
        [TierState.Planned] = [TierState.Dispatched, TierState.Skipped, TierState.Failed],
        [TierState.Dispatched] = [TierState.Uploading, TierState.Skipped, TierState.Failed],
        [TierState.Uploading] = [TierState.Uploaded, TierState.Failed],
        [TierState.Uploaded] = [TierState.Stubbed, TierState.Failed],
        [TierState.Stubbed] = [TierState.Recalling, TierState.Lost],
        [TierState.Recalling] = [TierState.Recalled, TierState.Failed],
        [TierState.Recalled] = [TierState.Planned],
        [TierState.Failed] = [TierState.Planned, TierState.Recalling, TierState.Abandoned],
        // Only at an admin's request, once the cause is fixed: planned afresh, as a skipped file is.
        [TierState.Abandoned] = [TierState.Skipped],
        [TierState.Skipped] = [TierState.Planned],
        // Found again intact by a later reconciliation (restored from a backup of tier 2, say), or
        // the file's data is back on the host (a real file where the stub was).
        [TierState.Lost] = [TierState.Stubbed, TierState.Recalled],
    }.ToFrozenDictionary(pair => pair.Key, pair => pair.Value.ToFrozenSet());

    private readonly TimeSpan _retryBase = retryBase ?? TimeSpan.FromMinutes(1);
    private readonly TimeSpan _refusedPause = refusedPause ?? DefaultRefusedPause;

    /// <summary>True when the table allows the move (guards that depend on data are not checked).</summary>
    public static bool IsListed(TierState from, TierState to) => Legal[from].Contains(to);

    public TierObjectSnapshot Transition(TierObjectSnapshot current, TierState to, TierTransitionDetails? details = null)
    {
        details ??= new TierTransitionDetails();
        var from = current.State;
        if (!IsListed(from, to))
        {
            ThrowIllegal(from, to, "not a move of the tiering life cycle");
        }

        var now = time.GetUtcNow();
        switch (to)
        {
            case TierState.Planned:
                if (from == TierState.Failed)
                {
                    RequireRetryAllowed(current, to, TierPhase.Tiering);
                    return current with { State = to, PlannedAt = now, NextAttemptAt = null };
                }
                // A fresh plan (after a recall or a skip) starts a new count of attempts.
                return current with { State = to, PlannedAt = now, Attempts = 0, LastError = null, NextAttemptAt = null, Hash = null, Locator = null };

            case TierState.Recalling:
                if (from == TierState.Failed)
                {
                    RequireRetryAllowed(current, to, TierPhase.Recall);
                }
                return current with { State = to, NextAttemptAt = null };

            case TierState.Uploaded:
                // The original is only ever released after tier 2 holds a verified copy.
                if (string.IsNullOrWhiteSpace(details.Hash) || string.IsNullOrWhiteSpace(details.Locator))
                {
                    ThrowIllegal(from, to, "an upload counts only with its verified hash and tier-2 locator");
                }
                return current with { State = to, Hash = details.Hash, Locator = details.Locator };

            case TierState.Stubbed:
                return current with { State = to, ActedAt = now, Attempts = 0, LastError = null };

            case TierState.Recalled:
                return current with
                {
                    State = to,
                    ActedAt = now,
                    LastAccessedAt = now,
                    AccessCount = current.AccessCount + 1,
                    Attempts = 0,
                    LastError = null,
                };

            case TierState.Failed:
                if (string.IsNullOrWhiteSpace(details.Error))
                {
                    ThrowIllegal(from, to, "a failure must say what failed");
                }
                var attempts = current.Attempts + 1;
                return current with
                {
                    State = to,
                    Attempts = attempts,
                    LastError = details.Error,
                    FailedDuring = from == TierState.Recalling ? TierPhase.Recall : TierPhase.Tiering,
                    NextAttemptAt = attempts < maxAttempts ? now + Backoff(attempts) : null,
                };

            case TierState.Abandoned:
                if (current.Attempts < maxAttempts)
                {
                    ThrowIllegal(from, to, $"only after {maxAttempts} failed attempts ({current.Attempts} so far)");
                }
                return current with { State = to, NextAttemptAt = null };

            case TierState.Skipped:
                // A refused or declined file is not planned again before its pause is over (the planner reads NextAttemptAt).
                var pause = details.Refused ? _refusedPause : details.Hold;
                return current with { State = to, LastError = details.Error, NextAttemptAt = now + pause };

            case TierState.Lost:
                if (string.IsNullOrWhiteSpace(details.Error))
                {
                    ThrowIllegal(from, to, "a loss must say what is wrong with the tier-2 object");
                }
                return current with { State = to, LastError = details.Error };

            default:
                return current with { State = to };
        }
    }

    /// <summary>
    /// Ends the pause of a held file (a declined or refused one) at an admin's request: it stays
    /// SKIPPED, so the next plan takes it as any skipped file. Not a move of the life cycle; only a
    /// file that is held may be released.
    /// </summary>
    public TierObjectSnapshot Release(TierObjectSnapshot current, string reason)
    {
        if (current.State != TierState.Skipped || current.NextAttemptAt is not { } until || until <= time.GetUtcNow())
        {
            ThrowIllegal(current.State, current.State, "only a skipped file held back from planning is released");
        }
        return current with { NextAttemptAt = null, LastError = reason };
    }

    /// <summary>Exponential backoff: base, 2×base, 4×base, … after the first, second, third failure.</summary>
    public TimeSpan Backoff(int attempts) => _retryBase * Math.Pow(2, Math.Max(0, attempts - 1));

    private void RequireRetryAllowed(TierObjectSnapshot current, TierState to, TierPhase phase)
    {
        if (current.FailedDuring != phase)
        {
            ThrowIllegal(current.State, to, $"the failure happened during {current.FailedDuring.ToString().ToLowerInvariant()}, not {phase.ToString().ToLowerInvariant()}");
        }
        if (current.Attempts >= maxAttempts)
        {
            ThrowIllegal(current.State, to, $"{current.Attempts} attempts used of {maxAttempts}; abandon instead");
        }
    }

    [DoesNotReturn]
    private static void ThrowIllegal(TierState from, TierState to, string reason) =>
        throw new IllegalTierTransitionException(from, to, reason);
}
