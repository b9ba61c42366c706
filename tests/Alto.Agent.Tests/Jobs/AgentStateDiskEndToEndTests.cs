using System.Runtime.Versioning;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Jobs;

/// <summary>The running agent when its own state folder misbehaves under it: it says so and goes on, never dying in silence or half working.</summary>
[SupportedOSPlatform("linux")]
public sealed class AgentStateDiskEndToEndTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private readonly GatewayProcess _gateway = running.Gateway;

    /// <summary>
    /// The status file cannot be written (here a folder stands where its new copy goes, as a full
    /// or read-only state disk refuses it): a warning once, the session and recall go on, and the
    /// file is written again as soon as it can be. Before, the task writing it ended at the first
    /// failure without a word, and <c>alto-agent status</c> showed a stale agent from then on.
    /// </summary>
    [Fact]
    public async Task AStatusFileThatCannotBeWrittenIsSaidOnceAndTheAgentGoesOn()
    {
        await using var world = await TieringWorld.CreateAsync(_gateway);
        var blocker = Directory.CreateDirectory(Path.Combine(world.State, "status.json.tmp")).FullName;

        var agent = world.StartAgent();
        await world.WaitForRecallAsync(armed: true, agent);
        await TieringWorld.WaitForAsync(() => Task.FromResult(agent.Output.Contains("The status file (alto-agent status) cannot be written", StringComparison.Ordinal)),
            "a warning that the status file cannot be written", agent);
        await Task.Delay(TimeSpan.FromSeconds(5));
        Assert.False(agent.HasExited, agent.Output);
        Assert.Single(agent.Output.Split('\n'), line => line.Contains("The status file (alto-agent status) cannot be written", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(world.State, "status.json")));

        Directory.Delete(blocker);
        await TieringWorld.WaitForAsync(() => Task.FromResult(File.Exists(Path.Combine(world.State, "status.json"))), "the status file written again", agent);
        Assert.False(agent.HasExited, agent.Output);
    }
}
