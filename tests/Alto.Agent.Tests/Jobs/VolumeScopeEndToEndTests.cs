using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// The agent, which runs as root, touches nothing outside its host's volumes whatever the cluster
/// asks: a local user who swaps a folder of a volume for a link to /etc-like places between the
/// scan and the tiering, or a command naming a link out of the volume, gets the agent to refuse —
/// the files behind the link stay as they are, and the refusal reaches the audit log.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class VolumeScopeEndToEndTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task AFolderSwappedForALinkOutOfTheVolumeAfterTheScanIsNeitherTieredNorScanned()
    {
        await using var world = await TieringWorld.CreateAsync(_gateway);
        var inside = Directory.CreateDirectory(Path.Combine(world.Volume.Root, "projects")).FullName;
        var names = Enumerable.Range(0, 4).Select(i => $"cold-{i}.bin").ToArray();
        foreach (var name in names)
        {
            await TieringWorld.WriteOldFileAsync(Path.Combine(inside, name), 64);
        }
        // Scanned with no agent running: the plan waits for an agent that can recall.
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'PLANNED'") == names.Length, "the files planned", null);

        // The local user's move: the same names, outside the volume, behind a link where the folder was.
        var outside = Directory.CreateDirectory(Path.Combine(world.Work, "secrets")).FullName;
        var sums = new Dictionary<string, string>();
        foreach (var name in names)
        {
            sums[Path.Combine(outside, name)] = await TieringWorld.WriteOldFileAsync(Path.Combine(outside, name), 64);
        }
        Directory.Move(inside, inside + ".away");
        File.CreateSymbolicLink(inside, outside);
        var agent = world.StartAgent();
        await world.WaitForRecallAsync(armed: true, agent);
        await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/hosts/{world.HostId}/plan?dryRun=false", new { });

        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'SKIPPED'") == names.Length, "every file refused", agent);
        // Each waits a week before it is planned again, and the API says until when.
        var skipped = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/tier-objects?hostId={world.HostId}&state=SKIPPED");
        Assert.All(skipped.GetProperty("items").EnumerateArray(),
            item => Assert.InRange(item.GetProperty("nextAttemptAt").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddDays(6.9), DateTimeOffset.UtcNow.AddDays(7.1)));
        foreach (var (path, sum) in sums)
        {
            Assert.Null(LinuxStubs.Peek(path));
            Assert.Equal(sum, await TieringWorld.ReadByAnotherProgramAsync(path));
        }
        Assert.Empty(Directory.GetFiles(Path.Combine(world.Work, "tier2"), "*", SearchOption.AllDirectories));
        var reasons = await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.refused' AND details::text LIKE '%not below any of this host%secrets%'");
        Assert.True(reasons > 0, "the refusal names where the link led\n" + agent.Output);

        // A scan of the link itself is accepted by the cluster (it cannot see links) and refused by the agent.
        await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/hosts/{world.HostId}/scan", new { paths = new[] { inside } });
        await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'host.command_failed' AND details::text LIKE '%refused the scan%'") > 0,
            "the scan refused and audited", agent);
        Assert.Equal(0, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.file_current WHERE host_id = '{world.HostId}' AND full_path LIKE '{outside}/%'"));
    }
}
