using Alto.TestSupport;

namespace Alto.Silo.Tests;

/// <summary>
/// The systemd units for plain hosts (silo, gateway, agent and its recall guard) are units systemd
/// itself accepts, without a warning: `systemd-analyze verify` reads each the way systemd would at
/// daemon-reload (unknown keys, bad values, commands that cannot run). The shared settings file
/// they read names only settings the README documents.
/// </summary>
public sealed class SystemdUnitsTests
{
    private static readonly string[] Units =
    [
        Path.Combine(RepositoryPaths.Root, "silo", "alto-silo.service"),
        Path.Combine(RepositoryPaths.Root, "gateway-api", "alto-gateway.service"),
        Path.Combine(RepositoryPaths.Root, "agent", "alto-agent.service"),
        Path.Combine(RepositoryPaths.Root, "agent", "alto-agent-guard.service"),
    ];

    [Fact]
    public async Task SystemdAcceptsEveryUnitWithoutAWarning()
    {
        var (exitCode, output) = await ExternalTool.RunAsync("systemd-analyze", ["verify", .. Units], "install Debian's systemd package",
            workingDirectory: Path.GetTempPath());

        Assert.True(exitCode == 0 && output.Trim().Length == 0, output);
    }

    [Fact]
    public async Task AUnitWithAMistakeIsRefused()
    {
        // The check above means something only if systemd-analyze says so when a unit is wrong.
        var broken = Path.Combine(Path.GetTempPath(), $"alto-broken-{Guid.NewGuid():N}.service");
        await File.WriteAllTextAsync(broken, (await File.ReadAllTextAsync(Units[0])).Replace("TimeoutStopSec=60", "TimeoutStopSec=soon", StringComparison.Ordinal));
        try
        {
            var (_, output) = await ExternalTool.RunAsync("systemd-analyze", ["verify", broken], "install Debian's systemd package", workingDirectory: Path.GetTempPath());
            Assert.Contains("Failed to parse time value, ignoring: soon", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(broken);
        }
    }

    [Fact]
    public async Task TheSharedSettingsAreDocumentedSettings()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "README.md"));
        var settings = (await File.ReadAllLinesAsync(Path.Combine(RepositoryPaths.Root, "silo", "alto.env.example")))
            .Concat(Units.SelectMany(File.ReadAllLines).Where(line => line.StartsWith("Environment=", StringComparison.Ordinal)).Select(line => line["Environment=".Length..]))
            .Where(line => line.StartsWith("Alto__", StringComparison.Ordinal))
            .Select(line => line[..line.IndexOf('=', StringComparison.Ordinal)].Replace("__", ":", StringComparison.Ordinal))
            .ToList();

        Assert.NotEmpty(settings);
        Assert.All(settings, setting => Assert.Contains($"`{setting}`", readme, StringComparison.Ordinal));
    }
}
