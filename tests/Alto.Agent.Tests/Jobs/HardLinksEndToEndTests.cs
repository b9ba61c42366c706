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
/// after one name is deleted. The capacity figures count each file's bytes once (each name its
/// share, size / links in whole bytes) and its names as files, before, after the stubbing and after
/// a name is gone.
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
        // 4 files of 256 KiB under 3 names each: 12 names, each a third of its file's bytes (87,381 whole bytes).
        const long Size = 256 * 1024;
        var eachFileOnce = files.Length * nights.Length * (Size / nights.Length);
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'PLANNED'") == names.Count, "every name planned", null);
        Assert.Equal((names.Count, eachFileOnce, 0L, 0L), await CapacityAsync(world));
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
        Assert.Equal((names.Count, eachFileOnce, names.Count, eachFileOnce), await CapacityAsync(world));
        // The target holds each file's object once: its stubbed bytes, and the day's tiered bytes, count each file once too.
        Assert.Equal((names.Count, eachFileOnce), await TargetStubbedAsync(world));
        var today = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/analytics/daily?hostId={world.HostId}&days=1");
        Assert.Equal(eachFileOnce, today.GetProperty("days").EnumerateArray().Sum(day => day.GetProperty("tieredBytes").GetInt64()));

        File.Delete(names[0].Path);
        foreach (var (path, file) in names.Skip(1))
        {
            Assert.Equal(sums[file], await TieringWorld.ReadByAnotherProgramAsync(path));
        }
        await agent.StopAsync(TimeSpan.FromSeconds(30));

        // A name gone: its file's two other names now carry half of it each, the rest a third (and
        // none is a stub: the reads above recalled every file).
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => (await CapacityAsync(world)).Files < names.Count, "the rescan merged", null);
        var afterDelete = (files.Length - 1) * nights.Length * (Size / nights.Length) + (nights.Length - 1) * (Size / (nights.Length - 1));
        Assert.Equal((names.Count - 1, afterDelete, 0L, 0L), await CapacityAsync(world));

        // One more name for a file, made without touching its data: in its other names' folders only
        // their link count changed, and the rescan must send those folders for that alone.
        var newNight = Directory.CreateDirectory(Path.Combine(world.Volume.Root, "backup", "2026-12-01")).FullName;
        var oneMore = await StubFiles.ShellAsync($"ln '{Path.Combine(world.Volume.Root, "backup", nights[1], files[1])}' '{Path.Combine(newNight, files[1])}'");
        Assert.True(oneMore.ExitCode == 0, oneMore.Output);
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => (await CapacityAsync(world)).Files == names.Count, "the rescan merged", null);
        var afterLink = (files.Length - 2) * nights.Length * (Size / nights.Length) + (nights.Length - 1) * (Size / (nights.Length - 1))
            + (nights.Length + 1) * (Size / (nights.Length + 1));
        Assert.Equal((names.Count, afterLink, 0L, 0L), await CapacityAsync(world));
        // The tier objects of that file's older names follow its new link count (each counts for a quarter of it now).
        Assert.Equal(nights.Length, await world.CountAsync($"full_path LIKE '%/{files[1]}' AND full_path NOT LIKE '{newNight}/%' AND links = {nights.Length + 1}"));
    }

    /// <summary>The stubbed objects (one per name) and bytes of the world's target, as the targets report gives them.</summary>
    private static async Task<(long Objects, long Bytes)> TargetStubbedAsync(TieringWorld world)
    {
        var targets = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/analytics/targets?hostId={world.HostId}");
        var target = targets.EnumerateArray().Single(target => target.GetProperty("targetId").ValueKind != System.Text.Json.JsonValueKind.Null
                                                              && target.GetProperty("targetId").GetGuid() == world.TargetId);
        return (target.GetProperty("stubbedObjects").GetInt64(), target.GetProperty("stubbedBytes").GetInt64());
    }

    /// <summary>The host's files, bytes, stubs and stubbed bytes as the capacity report gives them.</summary>
    private static async Task<(long Files, long Bytes, long TieredFiles, long TieredBytes)> CapacityAsync(TieringWorld world)
    {
        var report = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/analytics/capacity?by=size&hostId={world.HostId}");
        return (report.GetProperty("files").GetInt64(), report.GetProperty("bytes").GetInt64(),
            report.GetProperty("tieredFiles").GetInt64(), report.GetProperty("tieredBytes").GetInt64());
    }
}
