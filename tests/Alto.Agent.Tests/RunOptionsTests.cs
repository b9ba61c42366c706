using Alto.TestSupport;

namespace Alto.Agent.Tests;

/// <summary>Options of <c>alto-agent run</c> out of range are refused with a message before anything starts.</summary>
public sealed class RunOptionsTests
{
    [Theory]
    [InlineData("0")]
    [InlineData("3601")]
    [InlineData("soon")]
    public async Task ARecallStallLimitOutOfRangeIsRefusedSayingSo(string seconds)
    {
        var state = Directory.CreateTempSubdirectory("alto-run-options-").FullName;
        try
        {
            await using var run = ProgramRun.Start(RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent"), new Dictionary<string, string>(),
                "run", "--recall-stall-seconds", seconds, "--state-dir", state);

            Assert.NotEqual(0, await run.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("--recall-stall-seconds", run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("not enrolled", run.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(state, true);
        }
    }
}
