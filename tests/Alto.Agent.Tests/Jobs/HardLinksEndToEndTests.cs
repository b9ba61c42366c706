using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// A backup tree as <c>rsync --link-dest</c> leaves it: each night's folder holds every file,
/// unchanged ones as hard links to the night before. Scanned by the real agent, planned and sent
/// as jobs through the real gateway: every name becomes STUBBED, all of one file's names name the
/// one stub its file is, one object each, and another program reads every name whole — also
/// after one name is deleted.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class HardLinksEndToEndTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task EveryNameOfAHardLinkedFileIsTheOneStubOfItAndReadsWhole()
    {
        await using var world = await TieringWorld.CreateAsync(_gateway);
        var nights = new[] { "2026-11-28", "2026-11-29", "2026-11-30" };
        var files = new[] { "ledger.db", "scan-0001.tif", "scan-0002.tif", "notes.txt" };
        var sums = new Dictionary<string, string>();
        foreach (var file in files)
        {
            sums[file] = await TieringWorld.WriteOldFileAsync(Path.Combine(Directory.CreateDirectory(Path.Combine(world.Volume.Root, "backup", nights[0])).FullName, file), 256);
        }
        foreach (var night in nights.Skip(1))
        {
            var linked = await StubFiles.ShellAsync($"cp -al '{Path.Combine(world.Volume.Root, "backup", nights[0])}' '{Path.Combine(world.Volume.Root, "backup", night)}'");
            Assert.True(linked.ExitCode == 0, linked.Output);
        }
        var names = nights.SelectMany(night => files.Select(file => (Path: Path.Combine(world.Volume.Root, "backup", night, file), File: file))).ToList();
        Assert.All(names, name => Assert.Equal(StubFiles.Stat(Path.Combine(world.Volume.Root, "backup", nights[0], name.File)).Inode, StubFiles.Stat(name.Path).Inode));

        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'PLANNED'") == names.Count, "every name planned", null);
        var agent = world.StartAgent();
        await world.WaitForRecallAsync(armed: true, agent);
        await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/hosts/{world.HostId}/plan?dryRun=false", new { });
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") == names.Count, "every name stubbed", agent);

        foreach (var file in files)
        {
            var stubs = names.Where(name => name.File == file).Select(name => LinuxStubs.Peek(name.Path)).ToList();
            Assert.All(stubs, stub => Assert.Equal(stubs[0], stub));
            Assert.Equal(nights.Length, await world.CountAsync($"full_path LIKE '%/{file}' AND locator = '{stubs[0]!.Locator}' AND hash = '{sums[file]}'"));
        }
        Assert.DoesNotContain("zeros", agent.Output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("was made a stub through another of its names", agent.Output, StringComparison.Ordinal);

        File.Delete(names[0].Path);
        foreach (var (path, file) in names.Skip(1))
        {
            Assert.Equal(sums[file], await TieringWorld.ReadByAnotherProgramAsync(path));
        }
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }
}
