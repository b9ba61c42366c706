using Alto.TestSupport;

namespace Alto.Agent.Tests;

/// <summary>Options of <c>alto-agent run</c> out of range are refused with a message before anything starts.</summary>
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
}
