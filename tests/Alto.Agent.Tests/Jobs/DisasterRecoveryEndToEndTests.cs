using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Alto.Agent.Enrollment;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.Agent.Tests.Tiering;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// The runbook's disaster recovery (docs/runbooks.md), done as an operator would: a tenant that
/// encrypts tier 2 tiers a tree through the real agent to a compressed path target and to S3
/// (credentials sealed in the cluster); the recovery kit is exported; then the database is
/// dropped with no backup, and <c>alto-agent recall --kit</c> with only the kit and the master key
/// brings every file's bytes back, each checked against the original's SHA-256. A wrong master key
/// or an altered kit is refused before a file is touched.
/// </summary>
[SupportedOSPlatform("linux")]
[Collection(TierStoreCollection.Name)]
public sealed class DisasterRecoveryEndToEndTests(TierStoreFixture servers)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    /// <summary>The agent's state folder under the test's own; deleted first at the end, so the agent's recall guard ends before the volume is unmounted.</summary>
    private const string AgentState = "agent-state";

    [Fact]
    public async Task EveryStubIsRestoredFromTier2WithOnlyTheRecoveryKitAndTheMasterKeyOnceTheDatabaseIsGone()
    {
        using var volume = ScratchFileSystem.TryCreate(out var whyNot) ?? throw new InvalidOperationException(whyNot);
        var work = Directory.CreateTempSubdirectory("alto-dr-").FullName;
        var database = await TestDatabase.CreateAsync("disaster");
        var databaseDropped = false;
        try
        {
            var (files, kitJson, masterKey) = await TierThroughTheClusterAsync(volume, work, database);

            await database.DisposeAsync();
            databaseDropped = true;
            Assert.All(files.Keys, path => Assert.NotNull(LinuxStubs.Peek(path)));

            var kit = Private(Path.Combine(work, "kit.json"), kitJson);
            var state = Path.Combine(work, AgentState);
            var agentDll = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
            var noEnvironment = new Dictionary<string, string>();

            // Another installation's master key opens nothing: refused before any file is touched.
            var wrongKey = Private(Path.Combine(work, "wrong.key"), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
            await using (var refused = ProgramRun.Start(agentDll, noEnvironment, "recall", "--kit", kit, "--master-key-file", wrongKey, "--state-dir", state, volume.Root))
            {
                Assert.True(2 == await refused.WaitForExitAsync(Patience), refused.Output);
                Assert.Contains("does not open with this master key", refused.Output, StringComparison.Ordinal);
            }
            // A kit whose key was moved to another tenant (or version) does not open either.
            var altered = JsonNode.Parse(kitJson)!;
            altered["tenants"]![0]!["keys"]![0]!["version"] = 7;
            var alteredKit = Private(Path.Combine(work, "altered.json"), altered.ToJsonString());
            await using (var refused = ProgramRun.Start(agentDll, noEnvironment, "recall", "--kit", alteredKit, "--master-key-file", masterKey, "--state-dir", state, volume.Root))
            {
                Assert.True(2 == await refused.WaitForExitAsync(Patience), refused.Output);
                Assert.Contains("does not open with this master key", refused.Output, StringComparison.Ordinal);
            }
            Assert.All(files.Keys, path => Assert.NotNull(LinuxStubs.Peek(path)));

            // The documented procedure, on the host with its agent stopped: the recall takes recall over from
            // the agent's guard (which holds programs' opens of stubs meanwhile) and needs nothing but the kit and the master key.
            await using (var restore = ProgramRun.Start(agentDll, noEnvironment, "recall", "--kit", kit, "--master-key-file", masterKey, "--state-dir", state, volume.Root))
            {
                Assert.True(0 == await restore.WaitForExitAsync(Patience), restore.Output);
                Assert.Contains($"{files.Count} recalled, 0 failed", restore.Output, StringComparison.Ordinal);
            }
            foreach (var (path, original) in files)
            {
                Assert.Null(LinuxStubs.Peek(path));
                Assert.Equal(StubFiles.Sha256(original), (await StubFiles.ShellAsync($"sha256sum '{path}'")).Output[..64]);
                Assert.Equal(new DateTime(2020, 2, 3, 4, 5, 6, DateTimeKind.Utc), File.GetLastWriteTimeUtc(path));
            }
        }
        finally
        {
            if (!databaseDropped)
            {
                await database.DisposeAsync();
            }
            Directory.Delete(work, true);
        }
    }

    /// <summary>
    /// Tiers the files through a real gateway and agent on <paramref name="database"/>; returns them
    /// with their original bytes, the recovery kit as exported, and a copy of the master key (the
    /// database's own is deleted with it).
    /// </summary>
    private async Task<(Dictionary<string, byte[]> Files, string Kit, string MasterKey)> TierThroughTheClusterAsync(
        ScratchFileSystem volume, string work, TestDatabase database)
    {
        await using var gateway = await GatewayProcess.StartAsync(database, "disaster", new Dictionary<string, string>(), Patience);
        using var admin = await AdminApi.SignInAsync(gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenant = await admin.CreateTenantAsync($"dr-{Guid.NewGuid():N}"[..20], tierAtOnce: true);
        await admin.PatchAsync($"/api/v1/tenants/{tenant}", new { encryptTier2 = true });
        var pathTarget = Directory.CreateDirectory(Path.Combine(work, "tier2")).FullName;
        var nas = (await admin.PostAsync($"/api/v1/tenants/{tenant}/targets",
            new { name = "nas", kind = "path", settings = new { path = pathTarget, compression = "zstd" } })).GetProperty("id").GetGuid();
        var s3 = (await admin.PostAsync($"/api/v1/tenants/{tenant}/targets", new
        {
            name = "s3", kind = "s3",
            settings = new { bucket = TierStoreFixture.Bucket, endpoint = servers.S3.S3Endpoint, region = "us-east-1", forcePathStyle = true, prefix = $"dr-{Guid.NewGuid():N}" },
            credentials = new { accessKeyId = Tier2Server.S3Key, secretAccessKey = Tier2Server.S3Key },
        })).GetProperty("id").GetGuid();
        await admin.PostAsync($"/api/v1/tenants/{tenant}/rules", new { name = "images", targetId = s3, criteria = new { extensions = new[] { ".iso" }, accessedOlderThanDays = 30 } });
        await admin.PostAsync($"/api/v1/tenants/{tenant}/rules", new { name = "cold", targetId = nas, criteria = new { accessedOlderThanDays = 30 } });
        // Rotated once: objects sealed under version 2, credentials sealed again — the kit carries both versions.
        await admin.PostAsync($"/api/v1/tenants/{tenant}/key/rotate", new { });
        var (hostId, token) = await admin.RegisterHostAsync(tenant, "fs-dr", volume.Root);

        var files = new Dictionary<string, byte[]>();
        Directory.CreateDirectory(Path.Combine(volume.Root, "projects", "2019 archive"));
        foreach (var (name, size) in new[] { ("a.pdf", 10_000), ("disk.iso", 3 << 20), ("c.bin", 1), ("projects/2019 archive/d é.mp4", 700_000), ("projects/e.iso", 65_536) })
        {
            var path = Path.Combine(volume.Root, name);
            files[path] = StubFiles.Write(path, size, new DateTime(2020, 2, 3, 4, 5, 6, DateTimeKind.Utc));
        }

        using var http = new HttpClient();
        var state = Path.Combine(work, AgentState);
        var credentials = await new EnrollmentClient(http).EnrollAsync(gateway.HttpUrl, gateway.GrpcUrl, token, CancellationToken.None);
        await credentials.SaveAsync(state, CancellationToken.None);
        var agentDll = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
        await using (var scan = ProgramRun.Start(agentDll, new Dictionary<string, string>(), "scan", "--state-dir", state))
        {
            Assert.True(0 == await scan.WaitForExitAsync(Patience), scan.Output);
        }
        await using (var agent = ProgramRun.Start(agentDll, new Dictionary<string, string>(), "run", "--state-dir", state))
        {
            var deadline = DateTime.UtcNow + Patience;
            while (await database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{hostId}' AND state = 'STUBBED'") < files.Count)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the files were not stubbed in time; agent output:\n{agent.Output}");
                await Task.Delay(250);
            }
            await agent.StopAsync(TimeSpan.FromSeconds(20));
        }
        foreach (var path in files.Keys)
        {
            var stub = LinuxStubs.Peek(path) ?? throw new InvalidOperationException($"{path} is not a stub");
            Assert.Equal(path.EndsWith(".iso", StringComparison.Ordinal) ? s3 : nas, stub.TargetId);
            Assert.Equal(path.EndsWith(".iso", StringComparison.Ordinal) ? StubInfo.Encrypted : StubInfo.ZstdEncrypted, stub.Codec);
        }

        var kit = await admin.GetAsync("/api/v1/recovery-kit");
        var kitText = kit.GetRawText();
        // Nothing in it opens data by itself: no secret of the S3 target, keys only as wrapped.
        Assert.DoesNotContain(Tier2Server.S3Key, kitText, StringComparison.Ordinal);
        var kitTenant = kit.GetProperty("tenants").EnumerateArray().Single(entry => entry.GetProperty("id").GetGuid() == tenant);
        Assert.Equal([1, 2], kitTenant.GetProperty("keys").EnumerateArray().Select(key => key.GetProperty("version").GetInt32()));
        Assert.Equal(2, kitTenant.GetProperty("targets").GetArrayLength());
        Assert.Equal(1, await database.CountAsync("SELECT count(*) FROM alto.audit_log WHERE tenant_id IS NULL AND action = 'recovery_kit.exported'"));

        var masterKey = Path.Combine(work, "master.key");
        File.Copy(database.MasterKeyFile, masterKey);
        File.SetUnixFileMode(masterKey, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return (files, kitText, masterKey);
    }

    /// <summary>Writes a file only its owner may read (the agent refuses a master key file others can read).</summary>
    private static string Private(string path, string content)
    {
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }
}
