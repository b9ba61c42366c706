using System.Text.RegularExpressions;
using Alto.Gateway.Options;
using Alto.Silo.Startup;
using Alto.TestSupport;
using Microsoft.Extensions.Configuration;

namespace Alto.Gateway.Tests;

/// <summary>
/// The settings a gateway and a silo take are the ones the README's configuration reference
/// documents, and a setting no part of Alto reads is refused by name with the one meant.
/// </summary>
[Trait("Layer", "Unit")]
public sealed partial class KnownSettingsTests
{
    private static readonly KnownSettings Gateway = KnownSettings.ForGateway(typeof(AltoGatewayOptions).Assembly);

    [Fact]
    public void EverySettingTheReadmeDocumentsIsOneAGatewayReads()
    {
        var documented = DocumentedSettings();

        Assert.True(documented.Count > 60, $"only {documented.Count} settings were read from the README's configuration reference");
        Assert.Equal([], documented.Where(setting => !Gateway.IsKnown(setting)).ToArray());
    }

    [Fact]
    public void EverySettingAGatewayReadsIsDocumentedInTheReadme()
    {
        var documented = DocumentedSettings().ToHashSet(StringComparer.OrdinalIgnoreCase);

        Assert.Equal([], Gateway.Settings.Where(setting => !documented.Contains(setting)).Order().ToArray());
    }

    [Fact]
    public void TheSectionsASiloPassesByAreExactlyTheGatewaysOwn()
    {
        var cluster = KnownSettings.Of(KnownSettings.ClusterAssemblies).Settings.Select(Section).ToHashSet(StringComparer.Ordinal);
        var gatewayOnly = Gateway.Settings.Select(Section).Where(section => !cluster.Contains(section)).Distinct().Order();

        Assert.Equal(KnownSettings.GatewaySections.Order(), gatewayOnly);
    }

    [Fact]
    public void AMistypedSettingIsRefusedNamingTheOneMeant()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Alto:Ingest:MaxConcurrentMerges"] = "3",
            ["alto:planner:interval"] = "06:00:00",
            ["Alto:Keys:Vault:Adress"] = "http://vault:8200",
            ["Alto:Tiering:Retry:MaxAttemps"] = "5",
            ["Alto:Frobnicate"] = "yes",
            ["Logging:LogLevel:Default"] = "Warning",
            // As a test host's settings give it: each section above a setting with a value of its own.
            ["Alto:Ingest"] = "",
            ["Alto"] = "",
        }).Build();

        var refused = Assert.Throws<SettingException>(() => Gateway.Check(configuration)).Message;

        Assert.Contains("unknown setting Alto:Keys:Vault:Adress (not read by any part of Alto; did you mean Alto:Keys:Vault:Address?)", refused, StringComparison.Ordinal);
        Assert.Contains("unknown setting Alto:Tiering:Retry:MaxAttemps (not read by any part of Alto; did you mean Alto:Tiering:Retry:MaxAttempts?)", refused, StringComparison.Ordinal);
        Assert.Contains("unknown setting Alto:Frobnicate (not read by any part of Alto; see the README's configuration reference)", refused, StringComparison.Ordinal);
        Assert.DoesNotContain("MaxConcurrentMerges", refused, StringComparison.Ordinal);
        Assert.DoesNotContain("planner", refused, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Logging", refused, StringComparison.Ordinal);
    }

    [Fact]
    public void ASiloPassesByTheGatewaysSettingsButNotItsTypingMistakes()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Alto:Auth:TokenLifetime"] = "01:00:00",
            ["Alto:Gateway:HttpUrl"] = "http://0.0.0.0:8080",
            ["Alto:Gatway:HttpUrl"] = "http://0.0.0.0:8080",
        }).Build();

        var refused = Assert.Throws<SettingException>(() => KnownSettings.ForSilo().Check(configuration)).Message;

        Assert.Equal("unknown setting Alto:Gatway:HttpUrl (not read by any part of Alto; did you mean Alto:Gateway:HttpUrl?)", refused);
    }

    /// <summary>The settings named in the first column of the README's configuration reference (a later name in a cell may be relative to the first one's section).</summary>
    private static List<string> DocumentedSettings()
    {
        var readme = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "README.md"));
        var start = Array.IndexOf(readme, "## Configuration reference");
        Assert.True(start >= 0, "the README has no configuration reference");
        var settings = new List<string>();
        foreach (var row in readme.Skip(start).TakeWhile(line => !line.StartsWith("Exit codes", StringComparison.Ordinal)).Where(line => line.StartsWith("| `Alto:", StringComparison.Ordinal)))
        {
            var names = Quoted().Matches(row.Split('|')[1]).Select(match => match.Groups[1].Value).ToArray();
            var section = names[0][..names[0].LastIndexOf(':')];
            settings.AddRange(names.Select(name => name.StartsWith("Alto:", StringComparison.Ordinal) ? name : section + ":" + name));
        }
        return settings;
    }

    private static string Section(string setting) => string.Join(':', setting.Split(':').Take(2));

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Quoted();
}
