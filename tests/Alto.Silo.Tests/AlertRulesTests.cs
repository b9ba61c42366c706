using Alto.TestSupport;

namespace Alto.Silo.Tests;

/// <summary>
/// The alert rules operators load (helm/alto/files/alerts.yaml) are valid Prometheus rules and
/// behave as their unit tests say (tests/alerts/alerts.test.yaml), checked by Prometheus's own
/// promtool; scripts/test.sh installs it (Debian's prometheus package) when it is missing.
/// </summary>
public sealed class AlertRulesTests
{
    private static readonly string Rules = Path.Combine(RepositoryPaths.Root, "helm", "alto", "files", "alerts.yaml");
    private static readonly string RuleTests = Path.Combine(RepositoryPaths.Root, "tests", "alerts", "alerts.test.yaml");

    [Fact]
    public async Task TheAlertRulesAreValidPrometheusRules()
    {
        var (exitCode, output) = await PromtoolAsync("check", "rules", Rules);

        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachAlertFiresOnItsCaseAndStaysQuietOnItsNearMiss()
    {
        var (exitCode, output) = await PromtoolAsync("test", "rules", RuleTests);

        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public async Task EveryAlertHasAUnitTest()
    {
        var alerts = Values(await File.ReadAllLinesAsync(Rules), "- alert: ");
        var tested = Values(await File.ReadAllLinesAsync(RuleTests), "alertname: ");

        Assert.NotEmpty(alerts);
        Assert.Empty(alerts.Except(tested));
        var (_, output) = await PromtoolAsync("check", "rules", Rules);
        Assert.Contains($"{alerts.Count} rules found", output, StringComparison.Ordinal);
    }

    private static HashSet<string> Values(string[] lines, string key) =>
        lines.Select(line => line.Trim()).Where(line => line.StartsWith(key, StringComparison.Ordinal)).Select(line => line[key.Length..]).ToHashSet(StringComparer.Ordinal);

    private static Task<(int ExitCode, string Output)> PromtoolAsync(params string[] arguments) =>
        ExternalTool.RunAsync("promtool", arguments, "run the suite with scripts/test.sh, or apt-get install prometheus");
}
