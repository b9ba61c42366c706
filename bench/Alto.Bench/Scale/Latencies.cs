using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Alto.Bench.Scale;

/// <summary>Client-side latencies of one stage's requests (HTTP calls, gRPC reports until acknowledged).</summary>
internal sealed class Latencies
{
    private readonly ConcurrentBag<double> _milliseconds = [];

    public int Count => _milliseconds.Count;

    public async Task<T> TimeAsync<T>(Func<Task<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        var result = await call();
        Add(Stopwatch.GetElapsedTime(started));
        return result;
    }

    public async Task TimeAsync(Func<Task> call)
    {
        var started = Stopwatch.GetTimestamp();
        await call();
        Add(Stopwatch.GetElapsedTime(started));
    }

    public void Add(TimeSpan elapsed) => _milliseconds.Add(elapsed.TotalMilliseconds);

    public double P99Milliseconds => Math.Round(Measure.Percentile([.. _milliseconds], 0.99), 1);
}

/// <summary>
/// The alto_grain_call_duration_seconds histogram summed over every silo's /metrics: two scrapes
/// give a stage's own calls, and a quantile is read from them as Prometheus' histogram_quantile does
/// (linear within the bucket it falls in).
/// </summary>
internal sealed class GrainCallHistogram
{
    private const string Family = "alto_grain_call_duration_seconds_bucket{";
    private readonly SortedDictionary<double, double> _cumulative;

    private GrainCallHistogram(SortedDictionary<double, double> cumulative) => _cumulative = cumulative;

    public double Calls => _cumulative.Count == 0 ? 0 : _cumulative[double.PositiveInfinity];

    public static GrainCallHistogram Parse(IEnumerable<string> scrapes)
    {
        var cumulative = new SortedDictionary<double, double>();
        foreach (var line in scrapes.SelectMany(scrape => scrape.Split('\n')).Where(line => line.StartsWith(Family, StringComparison.Ordinal)))
        {
            var le = line[(line.IndexOf("le=\"", StringComparison.Ordinal) + 4)..].Split('"')[0];
            var bound = le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture);
            var sample = line.Split(" # ")[0].TrimEnd();
            var value = double.Parse(sample[(sample.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            cumulative[bound] = cumulative.GetValueOrDefault(bound) + value;
        }
        return new GrainCallHistogram(cumulative);
    }

    public GrainCallHistogram Minus(GrainCallHistogram earlier) =>
        new(new SortedDictionary<double, double>(_cumulative.ToDictionary(pair => pair.Key, pair => pair.Value - earlier._cumulative.GetValueOrDefault(pair.Key))));

    /// <summary>The quantile in milliseconds; the highest finite bound when it falls in the +Inf bucket.</summary>
    public double QuantileMilliseconds(double quantile)
    {
        if (Calls <= 0)
        {
            return 0;
        }
        var rank = quantile * Calls;
        var (lowerBound, lowerCount) = (0.0, 0.0);
        foreach (var (bound, count) in _cumulative)
        {
            if (count >= rank)
            {
                var seconds = double.IsPositiveInfinity(bound)
                    ? lowerBound
                    : lowerBound + (bound - lowerBound) * (count == lowerCount ? 1 : (rank - lowerCount) / (count - lowerCount));
                return Math.Round(seconds * 1000, 1);
            }
            (lowerBound, lowerCount) = (bound, count);
        }
        return Math.Round(lowerBound * 1000, 1);
    }
}
