using System.Runtime.Versioning;
using System.Text.Json;
using Alto.Agent.Connection;
using Alto.Agent.Stubs;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// Programs opening more stubs at once than the agent recalls at once (a virus scanner, a backup
/// with many threads), with the real gateway and agent: the others wait their turn, how many wait
/// is seen in the host API, /metrics, <c>alto-agent status</c> and the agent's log, and every
/// program reads its file whole once tier 2 serves again. Tier 2 is a share whose server is paused
/// (<see cref="PausableShare"/>), so that the first recalls hold their turns while the others queue.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class RecallQueueEndToEndTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private const int Files = 6;
    private const int AtOnce = 2;

    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task OpensOfMoreStubsThanAreRecalledAtOnceWaitTheirTurnVisiblyAndEachReadsItsFileWhole()
    {
        await using var share = await PausableShare.StartAsync();
        await using var world = await TieringWorld.CreateAsync(_gateway, tier2: share.Root);
        var sums = new Dictionary<string, string>();
        for (var i = 0; i < Files; i++)
        {
            var path = Path.Combine(world.Volume.Root, $"queued-{i}.bin");
            sums[path] = await TieringWorld.WriteOldFileAsync(path, 256);
        }
        // Limits far above the pause: the recalls that wait on the share are not given up.
        var agent = world.StartAgent("--recalls-at-once", $"{AtOnce}", "--recall-stall-seconds", "600", "--folder-stall-seconds", "600");
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") == Files, $"{Files} stubs", agent);
        Assert.All(sums.Keys, path => Assert.NotNull(LinuxStubs.Peek(path)));

        share.Pause();
        var reads = sums.Keys.Select(TieringWorld.ReadByAnotherProgramAsync).ToList();
        try
        {
            await WaitForWaitingAsync(world, Files - AtOnce, agent);
            await TieringWorld.WaitForAsync(async () => MetricLines.Sum(await _gateway.MetricsAsync(), "alto_agent_recalls_waiting", $"host=\"{world.HostId}\"") == Files - AtOnce,
                $"alto_agent_recalls_waiting at {Files - AtOnce} in /metrics", agent);
            await TieringWorld.WaitForAsync(async () => (await AgentStatusSnapshot.ReadAsync(world.State, CancellationToken.None))?.RecallsWaiting == Files - AtOnce,
                "alto-agent status counting the opens that wait", agent);
            // Said with whose opens wait (the reading programs run as root), as many as had queued when it was said.
            Assert.Matches($@"\b([1-{Files - AtOnce}]) open\(s\) of stubs wait their turn while {AtOnce} recalls run at once \(run --recalls-at-once\), \1 of them by user 0:", agent.Output);
            Assert.All(reads, read => Assert.False(read.IsCompleted));
        }
        finally
        {
            share.Resume();
        }

        Assert.Equal(sums.Values, await Task.WhenAll(reads));
        await WaitForWaitingAsync(world, 0, agent);
        Assert.All(sums.Keys, path => Assert.Null(LinuxStubs.Peek(path)));
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Waits for a heartbeat (seen through the host API) that counts <paramref name="waiting"/> opens waiting for their recall.</summary>
    private static async Task WaitForWaitingAsync(TieringWorld world, int waiting, ProgramRun agent) =>
        await TieringWorld.WaitForAsync(async () =>
        {
            var host = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/hosts/{world.HostId}");
            return host.GetProperty("latestMetrics") is { ValueKind: JsonValueKind.Object } metrics
                && metrics.GetProperty("recallsWaiting").GetInt32() == waiting;
        }, $"a heartbeat counting {waiting} open(s) waiting for their recall", agent);
}
