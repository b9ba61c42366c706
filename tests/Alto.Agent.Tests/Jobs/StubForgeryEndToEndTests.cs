using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// A local user of a host cannot make the root agent write someone else's data into a file of
/// theirs: with the real gateway, the real agent recalling on open, and a real unprivileged user
/// (runuser -u nobody) on a loop-mounted volume. Stubs of version 1 (markers any owner could set)
/// move to trusted markers at agent start only when the cluster's record vouches for them.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class StubForgeryEndToEndTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task AnUnprivilegedUserForgingOrCopyingAStubGetsNoByteOfTheVictimsFile()
    {
        await using var world = await TieringWorld.CreateAsync(_gateway);
        var victim = Path.Combine(world.Volume.Root, "hr", "salaries.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(victim)!);
        var victimSum = await TieringWorld.WriteOldFileAsync(victim, 96);
        File.SetUnixFileMode(victim, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var attacker = Directory.CreateDirectory(Path.Combine(world.Volume.Root, "nobody")).FullName;
        Assert.Equal(0, (await StubFiles.ShellAsync($"chown nobody '{attacker}'")).ExitCode);
        for (var folder = world.Volume.Root; folder != "/tmp"; folder = Path.GetDirectoryName(folder)!)
        {
            File.SetUnixFileMode(folder, File.GetUnixFileMode(folder) | UnixFileMode.OtherExecute);
        }
        var agent = world.StartAgent();
        await world.WaitForRecallAsync(armed: true, agent);
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") == 1, "the victim's file stubbed", agent);
        var stub = LinuxStubs.Peek(victim)!;

        // The attacker cannot see or write trusted markers, so writes version-1 ones (user.*) naming the victim's object — its locator learnt elsewhere.
        var forged = Path.Combine(attacker, "forged.bin");
        var forging = await AsNobodyAsync(
            $"head -c {stub.Length} /dev/zero > '{forged}' && python3 -c \"import os,sys\n" +
            $"p=sys.argv[1]\n" +
            $"for k,v in [('target','{stub.TargetId}'),('sha256','{stub.Sha256}'),('size','{stub.Length}'),('locator','{stub.Locator}')]: os.setxattr(p,'user.alto.'+k,v.encode())\n" +
            $"try:\n  os.setxattr(p,'trusted.alto.locator',b'{stub.Locator}'); print('TRUSTED-SET')\n" +
            $"except PermissionError: print('trusted refused')\" '{forged}'");
        Assert.Contains("trusted refused", forging.Output, StringComparison.Ordinal);
        // A privileged tool copying the markers (as cp -a or rsync -X run by root do) onto a file of the attacker's: they were bound to the victim's inode.
        var copy = Path.Combine(attacker, "copy.bin");
        var copying = await StubFiles.ShellAsync(
            $"truncate -s {stub.Length} '{copy}' && chown nobody '{copy}' && python3 -c \"import os,sys\n" +
            "for k in os.listxattr(sys.argv[1]): os.setxattr(sys.argv[2],k,os.getxattr(sys.argv[1],k))\" " + $"'{victim}' '{copy}'");
        Assert.True(copying.ExitCode == 0, copying.Output);
        Assert.Equal(stub.Locator, LinuxStubs.Peek(copy)?.Locator);
        // Both were opened as plain files before they carried markers; once the kernel has let go of
        // those inodes (as it does under memory pressure, done here at once), every open asks the agent.
        Assert.Equal(0, (await StubFiles.ShellAsync("sync; echo 3 > /proc/sys/vm/drop_caches")).ExitCode);

        var forgedRead = await AsNobodyAsync($"sha256sum '{forged}'");
        var copyRead = await AsNobodyAsync($"sha256sum '{copy}'");

        Assert.True(forgedRead.ExitCode != 0, forgedRead.Output + "\n" + agent.Output);
        Assert.Contains("Operation not permitted", forgedRead.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(victimSum, forgedRead.Output, StringComparison.Ordinal);
        Assert.NotEqual(0, copyRead.ExitCode);
        Assert.Contains("Operation not permitted", copyRead.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(victimSum, copyRead.Output, StringComparison.Ordinal);
        // Where the victim's data lies, and its hash, are for those who support the tenant; a viewer sees neither.
        using (var viewer = await world.Admin.NewUserAsync("viewer", world.TenantId))
        using (var support = await world.Admin.NewUserAsync("support", world.TenantId))
        {
            var seen = (await viewer.GetAsync($"/api/v1/tenants/{world.TenantId}/tier-objects?state=stubbed")).GetProperty("items")[0];
            Assert.Equal("STUBBED", seen.GetProperty("state").GetString());
            Assert.False(seen.TryGetProperty("locator", out _) || seen.TryGetProperty("sha256", out _), seen.ToString());
            var supported = (await support.GetAsync($"/api/v1/tenants/{world.TenantId}/tier-objects?state=stubbed")).GetProperty("items")[0];
            Assert.Equal((stub.Locator, stub.Sha256), (supported.GetProperty("locator").GetString(), supported.GetProperty("sha256").GetString()));
        }
        // The victim's own stub still reads whole, for the victim.
        Assert.Equal(victimSum, await TieringWorld.ReadByAnotherProgramAsync(victim));
        await AssertRefusalAuditedAsync(world, forged, "version-1");
        await AssertRefusalAuditedAsync(world, copy, "they were copied");
        var metrics = await _gateway.MetricsAsync();
        Assert.True(MetricLines.Sum(metrics, "alto_stub_recalls_refused_total") >= 2, metrics);
    }

    [Fact]
    public async Task StubsOfVersionOneMoveToTrustedMarkersAtAgentStartOnlyWhenTheClusterVouchesForThem()
    {
        await using var world = await TieringWorld.CreateAsync(_gateway);
        var sums = new Dictionary<string, string>();
        for (var i = 0; i < 3; i++)
        {
            var path = Path.Combine(world.Volume.Root, $"old-{i}.bin");
            sums[path] = await TieringWorld.WriteOldFileAsync(path, 80);
        }
        var agent = world.StartAgent();
        await world.WaitForRecallAsync(armed: true, agent);
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") == sums.Count, "the files stubbed", agent);
        await agent.StopAsync(TimeSpan.FromSeconds(30));
        // As an agent of version 1 left them: user.alto.* markers, no binding. One more, at a path the
        // cluster never recorded, is a forgery. (By path only: an open would wait in the recall guard.)
        var first = sums.Keys.First();
        var stub = LinuxStubs.Peek(first)!;
        foreach (var path in sums.Keys)
        {
            await ToVersionOneAsync(path, LinuxStubs.Peek(path)!);
        }
        var forged = Path.Combine(world.Volume.Root, "not-recorded.bin");
        Assert.Equal(0, (await StubFiles.ShellAsync($"truncate -s {stub.Length} '{forged}'")).ExitCode);
        await ToVersionOneAsync(forged, stub);
        Assert.All(sums.Keys.Append(forged), path => Assert.True(LinuxStubs.Peek(path)!.IsLegacy));

        // The upgrade: a version-1 agent's state folder had no record of volumes moved to trusted markers.
        File.Delete(Path.Combine(world.State, LegacyStubMigration.FileName));
        agent = world.StartAgent();
        await TieringWorld.WaitForAsync(() => Task.FromResult(File.Exists(Path.Combine(world.State, LegacyStubMigration.FileName))), "the volume migrated", agent);

        foreach (var (path, sum) in sums)
        {
            var migrated = LinuxStubs.Peek(path)!;
            Assert.False(migrated.IsLegacy, agent.Output);
            Assert.Equal(StubFiles.Stat(path).Inode, migrated.Binding!.Value.Inode);
            Assert.Equal(sum, await TieringWorld.ReadByAnotherProgramAsync(path));
        }
        Assert.True(LinuxStubs.Peek(forged)!.IsLegacy);
        Assert.NotEqual(sums[first], await TieringWorld.ReadByAnotherProgramAsync(forged));
        Assert.Contains("version-1", agent.Output, StringComparison.Ordinal);
    }

    /// <summary>Gives a file <paramref name="stub"/>'s markers the way version 1 wrote them, by path (no open of the file).</summary>
    private static async Task ToVersionOneAsync(string path, StubInfo stub)
    {
        var rewrite = await StubFiles.ShellAsync(
            "python3 -c \"import os,sys\n" +
            "p=sys.argv[1]\n" +
            "for k in os.listxattr(p):\n  k.startswith('trusted.alto.') and os.removexattr(p,k)\n" +
            $"for k,v in [('target','{stub.TargetId}'),('sha256','{stub.Sha256}'),('size','{stub.Length}'),('version','1'),('locator','{stub.Locator}')]: os.setxattr(p,'user.alto.'+k,v.encode())\" '{path}'");
        Assert.True(rewrite.ExitCode == 0, rewrite.Output);
    }

    private static Task<(int ExitCode, string Output)> AsNobodyAsync(string command) =>
        StubFiles.ShellAsync($"runuser -u nobody -- sh -c {Quote(command)}");

    private static string Quote(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private async Task AssertRefusalAuditedAsync(TieringWorld world, string path, string reason) =>
        await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'stub.recall_refused' AND tenant_id = '{world.TenantId}' AND outcome = 'failure' " +
            $"AND details->>'path' = '{path}' AND details->>'reason' LIKE '%{reason}%'") > 0, $"the refusal of {path} audited", null);
}
