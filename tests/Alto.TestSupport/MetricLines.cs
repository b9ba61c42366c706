using System.Globalization;

namespace Alto.TestSupport;

/// <summary>Reading a /metrics page the way an alert does: the value of a family's series that carry given labels.</summary>
public static class MetricLines
{
    /// <summary>The sum of the family's series whose labels contain every fragment (e.g. <c>cause="database"</c>).</summary>
    public static double Sum(string scrape, string family, params string[] labels) =>
        scrape.Split('\n')
            .Where(line => line.StartsWith(family + "{", StringComparison.Ordinal) || line.StartsWith(family + " ", StringComparison.Ordinal))
            .Where(line => labels.All(label => line.Contains(label, StringComparison.Ordinal)))
            .Select(line => line.Split(" # ")[0].TrimEnd())
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
}
