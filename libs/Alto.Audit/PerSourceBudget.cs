using System.Collections.Concurrent;

namespace Alto.Audit;

/// <summary>
/// How many refusals from one source (a client address) are audited each minute: the rest are
/// counted and logged but not written, so an attack cannot flood an audit chain; the next entry
/// written for that source says how many were left out before it.
/// </summary>
public sealed class PerSourceBudget(int perMinute, TimeProvider time)
{
    private const int MaxSources = 10_000;

    private readonly ConcurrentDictionary<string, SourceWindow> _sources = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether a refusal from <paramref name="source"/> is audited: false when the source's budget
    /// this minute is spent; when true, <paramref name="details"/> says how many were left out
    /// before it (<c>suppressedBefore</c>), if any.
    /// </summary>
    public bool TryTake(string source, IDictionary<string, object?> details)
    {
        if (Take(source) is not { } suppressedBefore)
        {
            return false;
        }
        if (suppressedBefore > 0)
        {
            details["suppressedBefore"] = suppressedBefore;
        }
        return true;
    }

    private int? Take(string source)
    {
        if (_sources.Count > MaxSources)
        {
            _sources.Clear();
        }
        var window = _sources.GetOrAdd(source, _ => new SourceWindow());
        var minute = time.GetUtcNow().ToUnixTimeSeconds() / 60;
        lock (window)
        {
            if (window.Minute != minute)
            {
                (window.Minute, window.Audited) = (minute, 0);
            }
            if (window.Audited >= perMinute)
            {
                window.Suppressed++;
                return null;
            }
            window.Audited++;
            var suppressed = window.Suppressed;
            window.Suppressed = 0;
            return suppressed;
        }
    }

    private sealed class SourceWindow
    {
        public long Minute { get; set; }

        public int Audited { get; set; }

        public int Suppressed { get; set; }
    }
}
