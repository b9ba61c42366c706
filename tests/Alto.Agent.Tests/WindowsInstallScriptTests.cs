using System.Runtime.Versioning;
using Alto.TestSupport;

namespace Alto.Agent.Tests;

/// <summary>
/// The Windows install script, as far as this machine can check it (no Windows here): PowerShell's
/// own parser finds no error in it, it ships in the win-x64 archive's shape (beside alto-agent.exe),
/// and every agent command and option it runs exists in the agent's command line.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class WindowsInstallScriptTests
{
    private static readonly string Script = Path.Combine(RepositoryPaths.Root, "agent", "install-windows-service.ps1");
    private static readonly string Pwsh = Path.Combine(RepositoryPaths.Root, ".state", "pwsh", "pwsh");

    [Fact]
    public async Task PowerShellParsesTheInstallScriptWithoutErrors()
    {
        Assert.True(File.Exists(Pwsh), $"{Pwsh} is missing: scripts/test.sh installs it (dotnet tool install --tool-path .state/pwsh PowerShell --version 7.6.10)");
        var (exitCode, output) = await ExternalTool.RunAsync(Pwsh,
            ["-NoProfile", "-NonInteractive", "-Command",
                "$errors = $null; $tokens = $null; [System.Management.Automation.Language.Parser]::ParseFile($env:ALTO_SCRIPT, [ref]$tokens, [ref]$errors) | Out-Null; "
                + "$errors | ForEach-Object { \"line $($_.Extent.StartLineNumber): $($_.Message)\" }; exit $errors.Count"],
            "scripts/test.sh installs PowerShell", environment: new Dictionary<string, string> { ["ALTO_SCRIPT"] = Script, ["NO_COLOR"] = "1" });
        Assert.True(exitCode == 0, output);
    }

    [Theory]
    [InlineData("enroll", new[] { "--gateway", "--grpc", "--token", "--state-dir" })]
    [InlineData("run", new[] { "--state-dir" })]
    public async Task EveryAgentCommandTheScriptRunsExistsWithItsOptions(string command, string[] options)
    {
        var script = await File.ReadAllTextAsync(Script);
        Assert.Contains($"{command} --", script, StringComparison.Ordinal);
        await using var help = ProgramRun.Start(RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent"), new Dictionary<string, string>(), command, "--help");
        Assert.Equal(0, await help.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.All(options, option => Assert.Contains(option, help.Output, StringComparison.Ordinal));
    }
}
