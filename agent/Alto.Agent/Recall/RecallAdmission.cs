using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Recall;

/// <summary>
/// Counts the opens of stubs that wait for their recall, by user, and refuses one more when
/// <see cref="RecallLimits.MostWaiting"/> wait already, or <see cref="RecallLimits.MostWaitingPerUser"/>
/// of its user's. Each waiting open holds a descriptor of the process that holds it: the agent's
/// recall slots count their opens here, and so does the recall guard, which holds the opens made
/// while no agent runs (a restart, an upgrade, a crash) — a local user opening stubs by the
/// thousand then fills the guard's share and no more.
/// </summary>
internal sealed partial class RecallAdmission(RecallLimits limits, ILogger logger)
{
    /// <summary>The user an open is counted under when its process's user cannot be told (it has ended, or an older recall guard handed it over without one).</summary>
    public const uint UnknownUser = uint.MaxValue;

    private static readonly TimeSpan WarnEvery = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();

    /// <summary>Opens counted in by <see cref="TryAdmit"/> and not dismissed yet, by user.</summary>
    private readonly Dictionary<uint, int> _admittedByUser = [];
    private int _admitted;
    private long _overloadWarnedAt = long.MinValue;
    private long _userOverloadWarnedAt = long.MinValue;

    /// <summary>
    /// Counts an open of a stub by <paramref name="user"/> in until <see cref="Dismiss"/>; refused
    /// (the exception to throw, and an error at most once a minute) when
    /// <see cref="RecallLimits.MostWaiting"/> are in already, or <see cref="RecallLimits.MostWaitingPerUser"/> of that user's.
    /// </summary>
    public RecallOverloadedException? TryAdmit(uint user)
    {
        lock (_lock)
        {
            if (_admitted >= limits.MostWaiting)
            {
                if (Due(ref _overloadWarnedAt))
                {
                    LogOverloaded(logger, limits.MostWaiting);
                }
                return new RecallOverloadedException(limits.MostWaiting);
            }
            var users = _admittedByUser.GetValueOrDefault(user);
            if (users >= limits.MostWaitingPerUser)
            {
                if (Due(ref _userOverloadWarnedAt))
                {
                    LogUserOverloaded(logger, limits.MostWaitingPerUser, Named(user));
                }
                return new RecallOverloadedException(limits.MostWaitingPerUser, Named(user));
            }
            _admittedByUser[user] = users + 1;
            _admitted++;
            return null;
        }
    }

    /// <summary>Counts in an open that was admitted elsewhere already (handed back by a stopping agent): it is counted, never refused.</summary>
    public void AdmitAlways(uint user)
    {
        lock (_lock)
        {
            _admittedByUser[user] = _admittedByUser.GetValueOrDefault(user) + 1;
            _admitted++;
        }
    }

    /// <summary>Counts out an open <see cref="TryAdmit"/> or <see cref="AdmitAlways"/> counted in.</summary>
    public void Dismiss(uint user)
    {
        lock (_lock)
        {
            _admitted--;
            var users = _admittedByUser[user] - 1;
            if (users == 0)
            {
                _admittedByUser.Remove(user);
            }
            else
            {
                _admittedByUser[user] = users;
            }
        }
    }

    public static string Named(uint user) => user == UnknownUser ? "processes whose user is not known" : $"user {user}";

    /// <summary>Whether a message last given at <paramref name="warnedAt"/> may be given again (at most once a minute); if so, now is the last time.</summary>
    public static bool Due(ref long warnedAt)
    {
        var now = Stopwatch.GetTimestamp();
        var last = Interlocked.Read(ref warnedAt);
        return (last == long.MinValue || Stopwatch.GetElapsedTime(last, now) >= WarnEvery)
               && Interlocked.CompareExchange(ref warnedAt, now, last) == last;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{MostWaiting} opens of stubs wait for their recall already: further opens of stubs get EIO until fewer wait (the files stay stubs; each refusal is reported as a failed recall)")]
    private static partial void LogOverloaded(ILogger logger, int mostWaiting);

    [LoggerMessage(Level = LogLevel.Error, Message = "{MostWaiting} opens of stubs by {User} wait for their recall already: that user's further opens of stubs get EIO until fewer wait, other users' still wait their turn (the files stay stubs; each refusal is reported as a failed recall)")]
    private static partial void LogUserOverloaded(ILogger logger, int mostWaiting, string user);
}
