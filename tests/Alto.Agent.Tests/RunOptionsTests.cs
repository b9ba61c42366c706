using Alto.TestSupport;

namespace Alto.Agent.Tests;

/// <summary>Options of <c>alto-agent run</c> and <c>recall</c> out of range or of the wrong kind are refused with a message before anything starts.</summary>
public sealed class RunOptionsTests
{
    [Theory]
    [InlineData("--recall-stall-seconds", "0")]
    [InlineData("--recall-stall-seconds", "3601")]
    [InlineData("--recall-stall-seconds", "soon")]
    [InlineData("--folder-stall-seconds", "0")]
    [InlineData("--folder-stall-seconds", "3601")]
    [InlineData("--folder-stall-seconds", "1m")]
    [InlineData("--unsettled-retry-seconds", "0")]
    [InlineData("--unsettled-retry-seconds", "86400")]
    [InlineData("--recalls-at-once", "0")]
    [InlineData("--recalls-at-once", "1025")]
    [InlineData("--recalls-at-once", "many")]
    public async Task ALimitOutOfRangeIsRefusedSayingSo(string option, string seconds)
    {
        var state = Directory.CreateTempSubdirectory("alto-run-options-").FullName;
        try
        {
            await using var run = ProgramRun.Start(RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent"), new Dictionary<string, string>(),
                "run", option, seconds, "--state-dir", state);

            Assert.NotEqual(0, await run.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains(option, run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("not enrolled", run.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(state, true);
        }
    }

    /// <summary>A URL option of the recovery kit's recall that is not one is refused by name, not an unhandled exception.</summary>
    [Theory]
    [InlineData("notaurl")]
    [InlineData("ftp://vault:8200")]
    public async Task AVaultAddressThatIsNotAnHttpUrlIsRefusedSayingSo(string address)
    {
        var state = Directory.CreateTempSubdirectory("alto-run-options-").FullName;
        try
        {
            var kit = Path.Combine(state, "kit.json");
            await File.WriteAllTextAsync(kit, "{}");
            await using var recall = ProgramRun.Start(RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent"), new Dictionary<string, string>(),
                "recall", "--kit", kit, "--vault-address", address, "--state-dir", state, state);

            Assert.NotEqual(0, await recall.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains($"--vault-address must be an absolute http:// or https:// URL, not '{address}'", recall.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", recall.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(state, true);
        }
    }
}
