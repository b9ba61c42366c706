using System.Text.Json;
using System.Text.RegularExpressions;

namespace Alto.TestSupport;

/// <summary>The Grafana dashboards operators load (helm/alto/files/dashboards) and the alto_* series their queries name.</summary>
public static partial class Dashboards
{
    public static readonly string Folder = Path.Combine(RepositoryPaths.Root, "helm", "alto", "files", "dashboards");

    /// <summary>Every alto_* name in the dashboard's panel queries and template variables.</summary>
    public static IReadOnlySet<string> MetricNames(string dashboard)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, dashboard)));
        var queries = new List<string>();
        foreach (var panel in document.RootElement.GetProperty("panels").EnumerateArray())
        {
            queries.AddRange(panel.GetProperty("targets").EnumerateArray().Select(target => target.GetProperty("expr").GetString()!));
        }
        foreach (var variable in document.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.TryGetProperty("definition", out var definition))
            {
                queries.Add(definition.GetString()!);
            }
        }
        return queries.SelectMany(query => MetricName().Matches(query).Select(match => match.Value)).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Each series the dashboards name is on the scraped page (a panel over a name nothing exports would stay empty forever).</summary>
    public static void AssertExported(string scrape, params string[] dashboards)
    {
        var exported = scrape.Split('\n').Where(line => line.StartsWith("alto_", StringComparison.Ordinal))
            .Select(line => line[..line.IndexOfAny(['{', ' '])]).ToHashSet(StringComparer.Ordinal);
        foreach (var dashboard in dashboards)
        {
            var missing = MetricNames(dashboard).Where(name => !exported.Contains(name)).ToList();
            Assert.True(missing.Count == 0, $"{dashboard} queries series /metrics does not have: {string.Join(", ", missing)}");
        }
    }

    [GeneratedRegex("alto_[a-z0-9_]+")]
    private static partial Regex MetricName();
}
