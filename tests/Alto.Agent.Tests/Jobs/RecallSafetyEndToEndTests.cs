using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// A stub never reads as zeros, with the real gateway, the real agent and other programs: files
/// other programs wrote, read and kept open before tiering read back whole after it; files outside
/// the host's volumes and files of an agent that cannot arm recall are never stubs; restarts and
/// kills of the agent while programs read stubs give them the right bytes or an error.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class RecallSafetyEndToEndTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task FilesOtherProgramsOpenedBeforeTieringReadBackWholeAndFoldersOutsideTheVolumesAreNeverTiered()
    {
        await using var world = await TieringWorld.CreateAsync(_gateway);
        var agent = world.StartAgent();
        await world.WaitForRecallAsync(armed: true, agent);

        // Other programs write and read the files while the agent runs: every one of them now carries
        // the ignore mark of an ordinary file. One is even kept open, to be read after it was tiered.
        var sums = new Dictionary<string, string>();
        for (var i = 0; i < 6; i++)
        {
            var path = Path.Combine(world.Volume.Root, $"opened-{i}.bin");
            sums[path] = await TieringWorld.WriteOldFileAsync(path, 64 + i * 100);
            Assert.Equal(sums[path], await TieringWorld.ReadByAnotherProgramAsync(path));
        }
        var held = Path.Combine(world.Volume.Root, "held-open.bin");
        sums[held] = await TieringWorld.WriteOldFileAsync(held, 300);
        var go = Path.Combine(world.Work, "go");
        var heldSum = Path.Combine(world.Work, "held.sum");
        var holder = StubFiles.ShellAsync($"exec 3< '{held}'; while [ ! -e '{go}' ]; do sleep 0.1; done; sha256sum <&3 > '{heldSum}' 2>&1");
        // A folder outside the volumes, scanned on purpose: in the inventory, never planned.
        var outside = Directory.CreateDirectory(Path.Combine(world.Work, "outside")).FullName;
        for (var i = 0; i < 3; i++)
        {
            await TieringWorld.WriteOldFileAsync(Path.Combine(outside, $"cold-{i}.bin"), 64);
        }

        await world.ScanAsync(outside);
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") == sums.Count, "every file of the volume stubbed", agent);

        foreach (var path in sums.Keys)
        {
            Assert.NotNull(LinuxStubs.Peek(path));
        }
        await File.WriteAllTextAsync(go, "");
        await holder;
        Assert.StartsWith(sums[held], await File.ReadAllTextAsync(heldSum), StringComparison.Ordinal);
        // The CLI's recall (through the running agent) of one of them, then other programs read them all.
        var first = sums.Keys.First(path => path != held);
        await using (var cli = ProgramRun.Start(TieringWorld.AgentDll, new Dictionary<string, string>(), "recall", first))
        {
            Assert.True(0 == await cli.WaitForExitAsync(TieringWorld.Patience), cli.Output);
            Assert.Contains("1 recalled, 0 failed", cli.Output, StringComparison.Ordinal);
        }
        foreach (var (path, sum) in sums)
        {
            Assert.Equal(sum, await TieringWorld.ReadByAnotherProgramAsync(path));
            Assert.Null(LinuxStubs.Peek(path));
        }
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'RECALLED'") == sums.Count, "every recall recorded", agent);

        Assert.Equal(3, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.file_current WHERE host_id = '{world.HostId}' AND full_path LIKE '{outside}/%' AND deleted_utc IS NULL"));
        Assert.Equal(0, await world.CountAsync($"full_path LIKE '{outside}/%'"));
        Assert.All(Directory.GetFiles(outside), path => Assert.Null(LinuxStubs.Peek(path)));
    }

    [Fact]
    public async Task AnAgentThatCannotArmRecallGetsNoJobAndMakesNoStub()
    {
        await using var world = await TieringWorld.CreateAsync(_gateway);
        var files = new Dictionary<string, string>();
        for (var i = 0; i < 3; i++)
        {
            var path = Path.Combine(world.Volume.Root, $"f{i}.bin");
            files[path] = await TieringWorld.WriteOldFileAsync(path, 80);
        }
        await world.ScanAsync();
        // Not root: no fanotify group, so nothing can be recalled on open, so nothing may be tiered.
        var state = await StubFiles.ShellAsync($"chmod o+x '{world.Work}' && chown -R nobody '{world.State}' && chmod 0700 '{world.State}'");
        Assert.Equal(0, state.ExitCode);
        await using var agent = ProgramRun.StartAs("nobody", TieringWorld.AgentDll, new Dictionary<string, string>(), "run", "--state-dir", world.State);

        var volume = await world.WaitForRecallAsync(armed: false, agent);
        Assert.Contains("not running as root", volume.GetProperty("recallReason").GetString(), StringComparison.Ordinal);
        // A plan returns once the host has tried to dispatch: nothing went.
        await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/hosts/{world.HostId}/plan?dryRun=false", new { });

        Assert.Equal(3, await world.CountAsync("state = 'PLANNED'"));
        Assert.Equal(0, await world.CountAsync("state <> 'PLANNED'"));
        foreach (var (path, sum) in files)
        {
            Assert.Null(LinuxStubs.Peek(path));
            Assert.Equal(sum, await TieringWorld.ReadByAnotherProgramAsync(path));
        }
        Assert.Contains("nothing will be tiered here", agent.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestartsAndKillsOfTheAgentWhileProgramsReadStubsGiveTheRightBytesOrAnErrorNeverZeros()
    {
        await using var world = await TieringWorld.CreateAsync(_gateway);
        var sums = new Dictionary<string, string>();
        for (var i = 0; i < 90; i++)
        {
            var path = Path.Combine(world.Volume.Root, $"r{i:D3}.bin");
            sums[path] = await TieringWorld.WriteOldFileAsync(path, 256);
        }
        var agent = world.StartAgent();
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") == sums.Count, "every file stubbed", agent);

        // One reader goes through the stubs, one every 100 ms, while the agent is stopped and started
        // again (as an upgrade would), then killed outright and started again.
        var results = Path.Combine(world.Work, "reads.txt");
        var list = Path.Combine(world.Work, "files.txt");
        await File.WriteAllLinesAsync(list, sums.Keys);
        var reader = StubFiles.ShellAsync($"while read f; do sha256sum \"$f\" >> '{results}' 2>&1 || echo \"ERROR $f\" >> '{results}'; sleep 0.1; done < '{list}'");
        await TieringWorld.WaitForAsync(async () => await ReadsAsync(results) >= 10, "ten reads", agent);
        await agent.StopAsync(TimeSpan.FromSeconds(30));
        agent = world.StartAgent();
        await world.WaitForRecallAsync(armed: true, agent);
        var beforeKill = await ReadsAsync(results);
        await TieringWorld.WaitForAsync(async () => await ReadsAsync(results) >= beforeKill + 5, "five more reads", agent);
        await agent.KillAsync();
        // With no agent, the next open of a stub waits in the guard until the next agent takes it over.
        await TieringWorld.WaitForAsync(async () => (await File.ReadAllTextAsync(Path.Combine(world.State, "recall-guard.log"))).Contains("waits for an agent", StringComparison.Ordinal),
            "a read waiting in the recall guard", agent);
        agent = world.StartAgent();
        await reader;

        Assert.Contains("waits for an agent", await File.ReadAllTextAsync(Path.Combine(world.State, "recall-guard.log")), StringComparison.Ordinal);
        var zeros = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(new byte[256 * 1024]));
        var lines = await File.ReadAllLinesAsync(results);
        var (right, errors) = (0, 0);
        foreach (var line in lines.Where(line => line.Length >= 64 && !line.StartsWith("ERROR", StringComparison.Ordinal) && !line.StartsWith("sha256sum", StringComparison.Ordinal)))
        {
            var path = line[66..];
            Assert.NotEqual(zeros, line[..64]);
            Assert.True(sums[path] == line[..64], $"{path} read as other bytes than it holds: {line}");
            right++;
        }
        errors = lines.Count(line => line.StartsWith("ERROR", StringComparison.Ordinal));
        Assert.Equal(sums.Count, right + errors);
        Assert.True(right > 0, string.Join('\n', lines));
        // Whatever got an error is still a stub and reads whole now that the agent is back.
        foreach (var (path, sum) in sums)
        {
            Assert.Equal(sum, await TieringWorld.ReadByAnotherProgramAsync(path));
        }
    }

    private static async Task<int> ReadsAsync(string results) =>
        File.Exists(results) ? (await File.ReadAllLinesAsync(results)).Length : 0;
}
