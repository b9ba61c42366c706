using System.Runtime.Versioning;
using Alto.Agent.Enrollment;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.Agent.Tests.Tiering;
using Alto.TestSupport;
using Alto.Tiering;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// The whole path, for each kind of target: a rule, a scan by the real agent, the plan the scan
/// triggers, the job the host grain sends down the session, the real agent (alto-agent run)
/// tiering and stubbing, the results moving each tier object to STUBBED — then another program
/// reading a stub and getting the original bytes through the agent's recall. The volume is a
/// loop-mounted ext4 of its own, so the agent's fanotify mark covers nothing else.
/// </summary>
[SupportedOSPlatform("linux")]
[Collection(TierStoreCollection.Name)]
public sealed class TieringEndToEndTests(RunningGateway running, TierStoreFixture servers) : IClassFixture<RunningGateway>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly GatewayProcess _gateway = running.Gateway;

    public static TheoryData<string, bool> Kinds() => new() { { "path", false }, { "s3", false }, { "azure", false }, { "path", true }, { "s3", true } };

    /// <summary>With <paramref name="encrypt"/>, the tenant encrypts tier 2: objects are not the files' bytes, and only the tenant's own hosts get their keys.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ColdFilesAreTieredToStubsAndReadBackWhole(string kind, bool encrypt)
    {
        using var volume = ScratchFileSystem.TryCreate(out var whyNot) ?? throw new InvalidOperationException(whyNot);
        var state = Directory.CreateTempSubdirectory("alto-e2e-agent-").FullName;
        var pathTarget = Directory.CreateTempSubdirectory("alto-e2e-tier2-").FullName;
        try
        {
            await TierAndRecallAsync(kind, encrypt, volume, state, pathTarget);
        }
        finally
        {
            Directory.Delete(state, true);
            Directory.Delete(pathTarget, true);
        }
    }

    /// <summary>
    /// The admin moves a folder target's objects to another folder and points the target there
    /// while the agent runs: the agent knows the target from the job that tiered the files, and
    /// its next recall, failing at the old folder, asks the cluster again and reads from the new
    /// one — no restart, no stub read as an error meanwhile.
    /// </summary>
    [Fact]
    public async Task AFolderTargetMovedWhileTheAgentRunsIsReadWhereItIsNow()
    {
        using var volume = ScratchFileSystem.TryCreate(out var whyNot) ?? throw new InvalidOperationException(whyNot);
        var state = Directory.CreateTempSubdirectory("alto-e2e-agent-").FullName;
        var before = Directory.CreateTempSubdirectory("alto-e2e-tier2-").FullName;
        var after = before + "-moved";
        try
        {
            using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
            var tenant = await admin.CreateTenantAsync($"e2e-moved-{Guid.NewGuid():N}"[..24], tierAtOnce: true);
            var targetId = (await admin.PostAsync($"/api/v1/tenants/{tenant}/targets", new { name = "nas", kind = "path", settings = new { path = before } })).GetProperty("id").GetGuid();
            await admin.PostAsync($"/api/v1/tenants/{tenant}/rules", new { name = "cold", targetId, criteria = new { accessedOlderThanDays = 30 } });
            var (hostId, token) = await admin.RegisterHostAsync(tenant, "fs-moved", volume.Root);
            var path = Path.Combine(volume.Root, "report.pdf");
            var original = StubFiles.Write(path, 300_000, new DateTime(2020, 2, 3, 4, 5, 6, DateTimeKind.Utc));

            await using var agent = await TieringAgent.EnrollScanAndRunAsync(_gateway, token, state, Patience);
            await TieringAgent.WaitForStubbedAsync(_gateway, hostId, 1, agent, Patience);
            Assert.NotNull(LinuxStubs.Peek(path));

            Directory.Move(before, after);
            await admin.PatchAsync($"/api/v1/tenants/{tenant}/targets/{targetId}", new { settings = new { path = after }, objectsMoved = true });

            var read = await StubFiles.ShellAsync($"sha256sum '{path}'");
            Assert.True(read.ExitCode == 0 && read.Output.StartsWith(StubFiles.Sha256(original), StringComparison.Ordinal), $"{read.Output}\nagent output:\n{agent.Output}");
            Assert.Null(LinuxStubs.Peek(path));
            Assert.Contains($"Storage target {targetId} changed in the cluster since this agent learnt it", agent.Output, StringComparison.Ordinal);
            await agent.StopAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            Directory.Delete(state, true);
            StubFiles.RemoveTree(before);
            StubFiles.RemoveTree(after);
        }
    }

    private async Task TierAndRecallAsync(string kind, bool encrypt, ScratchFileSystem volume, string state, string pathTarget)
    {
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenant = await admin.CreateTenantAsync($"e2e-{kind}-{Guid.NewGuid():N}"[..24], tierAtOnce: true);
        if (encrypt)
        {
            Assert.True((await admin.PatchAsync($"/api/v1/tenants/{tenant}", new { encryptTier2 = true })).GetProperty("encryptTier2").GetBoolean());
        }
        var prefix = $"e2e-{Guid.NewGuid():N}";
        var target = await admin.PostAsync($"/api/v1/tenants/{tenant}/targets", kind switch
        {
            "path" => (object)new { name = "nas", kind, settings = new { path = pathTarget } },
            "s3" => new { name = "s3", kind, settings = new { bucket = TierStoreFixture.Bucket, endpoint = servers.S3.S3Endpoint, region = "us-east-1", forcePathStyle = true, prefix },
                          credentials = new { accessKeyId = Tier2Server.S3Key, secretAccessKey = Tier2Server.S3Key } },
            _ => new { name = "blob", kind, settings = new { container = "tier2", prefix }, credentials = new { connectionString = servers.Azurite.AzureConnectionString } },
        });
        var targetId = target.GetProperty("id").GetGuid();
        await admin.PostAsync($"/api/v1/tenants/{tenant}/rules", new { name = "cold", targetId, criteria = new { accessedOlderThanDays = 30 } });
        var (hostId, token) = await admin.RegisterHostAsync(tenant, "fs-e2e", volume.Root);

        var files = new Dictionary<string, byte[]>();
        foreach (var (name, size) in new[] { ("a.pdf", 10_000), ("b.iso", 3 << 20), ("c.bin", 1), ("d.mp4", 700_000) })
        {
            var path = Path.Combine(volume.Root, name);
            files[path] = StubFiles.Write(path, size, new DateTime(2020, 2, 3, 4, 5, 6, DateTimeKind.Utc));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        }
        var warm = Path.Combine(volume.Root, "today.txt");
        await File.WriteAllTextAsync(warm, "in use");

        using var http = new HttpClient();
        var credentials = await new EnrollmentClient(http).EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl, token, CancellationToken.None);
        await credentials.SaveAsync(state, CancellationToken.None);
        var agentDll = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
        string scanOutput;
        await using (var scan = ProgramRun.Start(agentDll, new Dictionary<string, string>(), "scan", "--state-dir", state))
        {
            Assert.True(0 == await scan.WaitForExitAsync(Patience), scan.Output);
            scanOutput = scan.Output;
        }
        await using var tiering = ProgramRun.Start(agentDll, new Dictionary<string, string>(), "run", "--state-dir", state);

        var deadline = DateTime.UtcNow + Patience;
        while (await _gateway.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{hostId}' AND state = 'STUBBED'") < files.Count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the files were not stubbed in time; agent output:\n{tiering.Output}");
            await Task.Delay(250);
        }

        var store = new TierTarget(kind, pathTarget, TierStoreFixture.Bucket, "us-east-1", servers.S3.S3Endpoint, kind == "path" ? null : prefix, "tier2",
            null, true, Tier2Server.S3Key, Tier2Server.S3Key, servers.Azurite.AzureConnectionString).Open();
        foreach (var (path, original) in files)
        {
            // Looked at by path only: opening a stub from this process would recall it.
            var stub = LinuxStubs.Peek(path) ?? throw new InvalidOperationException($"{path} is not a stub");
            var status = LinuxFiles.StatPath(path);
            Assert.InRange(status.Blocks * 512, 0, 4096);
            Assert.Equal(original.Length, status.Size);
            Assert.Equal(StubFiles.Sha256(original), stub.Sha256);
            if (encrypt)
            {
                await AssertEncryptedAsync(store, stub, original, credentials, http);
            }
            else
            {
                Assert.Equal(stub.Sha256, await Sha256Check.OfObjectAsync(store, stub.Locator, CancellationToken.None));
            }
            Assert.Equal(new DateTime(2020, 2, 3, 4, 5, 6, DateTimeKind.Utc), File.GetLastWriteTimeUtc(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(path));
        }
        Assert.Null(LinuxStubs.Peek(warm));
        // What the agent wrote is its own to read: tier-2 objects (copies of 0640 files) and the state folder.
        if (kind == "path")
        {
            AssertPrivate(pathTarget, withRoot: false);
        }
        AssertPrivate(state, withRoot: true);
        Assert.Equal(1, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{hostId}' AND status = 'completed' AND file_count = {files.Count}"));
        Assert.Equal(files.Count, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{tenant}' AND action = 'tier.stubbed'"));

        // The agent restarts: sessions carry no targets, so its first recall asks the cluster for the target (audited).
        await tiering.StopAsync(TimeSpan.FromSeconds(20));
        var restartedAt = DateTimeOffset.UtcNow;
        await using var agent = ProgramRun.Start(agentDll, new Dictionary<string, string>(), "run", "--state-dir", state);
        await admin.WaitForHostAsync(tenant, hostId,
            host => host.TryGetProperty("lastHeartbeatAt", out var at) && at.GetDateTimeOffset() > restartedAt, Patience);

        // Another program reads a stub: the agent recalls it on open.
        var (someStub, itsBytes) = files.First(pair => pair.Value.Length > 1000);
        var read = await StubFiles.ShellAsync($"cat '{someStub}' | sha256sum");
        Assert.StartsWith(StubFiles.Sha256(itsBytes), read.Output, StringComparison.Ordinal);
        Assert.Null(LinuxStubs.Peek(someStub));
        // The agent reports the recall: the tier object is RECALLED with its access counted, the file warm.
        var recalledDeadline = DateTime.UtcNow + Patience;
        while (await _gateway.Database.CountAsync($"""
                   SELECT count(*) FROM alto.tier_object t JOIN alto.file_current f ON f.file_current_id = t.file_current_id
                   WHERE t.host_id = '{hostId}' AND t.full_path = '{someStub}' AND t.state = 'RECALLED' AND t.access_count = 1
                     AND f.last_accessed_source = 'recall'
                   """) == 0)
        {
            Assert.True(DateTime.UtcNow < recalledDeadline, $"the recall was not recorded; agent output:\n{agent.Output}");
            await Task.Delay(200);
        }

        // Recall on command, both ways: the CLI (through the running agent) and the API (by folder).
        // cp of another stub (cp alone would skip reading an all-hole file: recall happens at open).
        var (copied, copiedBytes) = files.Last(pair => pair.Key != someStub && pair.Value.Length > 1);
        var copy = Path.Combine(state, "copy");
        Assert.Equal(StubFiles.Sha256(copiedBytes), (await StubFiles.ShellAsync($"cp '{copied}' '{copy}' && sha256sum '{copy}'")).Output[..64]);
        var (cliStub, cliBytes) = files.First(pair => pair.Key != someStub && pair.Key != copied);
        await using (var cli = ProgramRun.Start(agentDll, new Dictionary<string, string>(), "recall", cliStub))
        {
            Assert.True(0 == await cli.WaitForExitAsync(Patience), cli.Output);
            Assert.Contains("1 recalled, 0 failed", cli.Output, StringComparison.Ordinal);
        }
        Assert.Null(LinuxStubs.Peek(cliStub));
        Assert.Equal(StubFiles.Sha256(cliBytes), (await StubFiles.ShellAsync($"sha256sum '{cliStub}'")).Output[..64]);
        // Recalls are reported in batches: the three so far are recorded before the API is asked for the rest.
        while (await _gateway.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{hostId}' AND state = 'RECALLED'") < 3)
        {
            Assert.True(DateTime.UtcNow < recalledDeadline + Patience, $"the recalls so far were not recorded; agent output:\n{agent.Output}");
            await Task.Delay(100);
        }
        var receipt = await admin.PostAsync($"/api/v1/tenants/{tenant}/hosts/{hostId}/recall", new { directory = volume.Root });
        Assert.Equal(files.Count - 3, receipt.GetProperty("files").GetInt32());
        while (await _gateway.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{hostId}' AND state = 'RECALLED'") < files.Count)
        {
            Assert.True(DateTime.UtcNow < recalledDeadline + Patience, $"not every stub was recalled; agent output:\n{agent.Output}");
            await Task.Delay(200);
        }
        foreach (var (path, original) in files)
        {
            Assert.Null(LinuxStubs.Peek(path));
            Assert.Equal(StubFiles.Sha256(original), (await StubFiles.ShellAsync($"sha256sum '{path}'")).Output[..64]);
        }

        var metrics = await _gateway.MetricsAsync();
        var alto = string.Join('\n', metrics.Split('\n').Where(line => line.StartsWith("alto_", StringComparison.Ordinal)));
        Assert.True(alto.Contains("alto_tier_files", StringComparison.Ordinal) && alto.Contains("outcome=\"stubbed\"", StringComparison.Ordinal), alto);
        Assert.True(alto.Contains("alto_tier_bytes_saved", StringComparison.Ordinal), alto);
        Assert.True(alto.Contains("alto_recall_count", StringComparison.Ordinal) && alto.Contains("result=\"ok\"", StringComparison.Ordinal), alto);

        await agent.StopAsync(TimeSpan.FromSeconds(20));

        // No secret of this run reached a log: the gateway's whole output and the agent's.
        var secrets = new List<string> { GatewayProcess.AdminPassword, token, credentials.Credential, admin.AccessToken };
        if (kind == "azure")
        {
            secrets.Add(servers.Azurite.AzureConnectionString.Split(';').Single(part => part.StartsWith("AccountKey=", StringComparison.Ordinal))["AccountKey=".Length..]);
        }
        var logs = string.Join('\n', _gateway.Run.Output, scanOutput, tiering.Output, agent.Output);
        var fetched = await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{tenant}' AND action = 'target.accessed' AND host_id = '{hostId}'");
        Assert.True(fetched == 1, $"the target was handed out {fetched} times; agent output:\n{agent.Output}");
        Assert.All(secrets, secret => Assert.False(logs.Contains(secret, StringComparison.Ordinal), $"a secret ({secret[..4]}…) is in the logs"));
    }

    /// <summary>Every file below <paramref name="folder"/> is 0600 and every folder 0700 (its own root too, with <paramref name="withRoot"/>).</summary>
    private static void AssertPrivate(string folder, bool withRoot)
    {
        const UnixFileMode File600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        const UnixFileMode Folder700 = File600 | UnixFileMode.UserExecute;
        if (withRoot)
        {
            Assert.Equal(Folder700, File.GetUnixFileMode(folder));
        }
        var entries = new DirectoryInfo(folder).EnumerateFileSystemInfos("*", SearchOption.AllDirectories).ToList();
        Assert.NotEmpty(entries);
        Assert.All(entries, entry => Assert.True(
            entry.UnixFileMode == (entry is DirectoryInfo ? Folder700 : File600), $"{entry.FullName} is {entry.UnixFileMode}"));
    }

    /// <summary>
    /// The object is an encrypted one (not the file's bytes); the cluster unwraps its key for the
    /// tenant's own host and refuses a host of another tenant.
    /// </summary>
    private async Task AssertEncryptedAsync(ITierStore store, StubInfo stub, byte[] original, AgentCredentials owner, HttpClient http)
    {
        Assert.Equal(StubInfo.Encrypted, stub.Codec);
        byte[] stored;
        await using (var read = await store.OpenReadAsync(stub.Locator, 0, null, CancellationToken.None))
        using (var buffer = new MemoryStream())
        {
            await read.CopyToAsync(buffer);
            stored = buffer.ToArray();
        }
        Assert.Equal("ALTOAE01"u8.ToArray(), stored[..8]);
        Assert.NotEqual(stub.Sha256, StubFiles.Sha256(stored));
        if (original.Length >= 32)
        {
            Assert.Equal(-1, stored.AsSpan().IndexOf(original.AsSpan(original.Length / 2, 32)));
        }
        var wrapped = System.Text.Encoding.UTF8.GetString(stored, 10, System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(stored.AsSpan(8)));

        Assert.Equal(System.Net.HttpStatusCode.OK, (await UnwrapAsync(http, owner.Credential, wrapped)).StatusCode);
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var stranger = await admin.CreateTenantAsync($"other-{Guid.NewGuid():N}"[..24]);
        var (_, token) = await admin.RegisterHostAsync(stranger, "fs-other", "/srv");
        var theirs = await new EnrollmentClient(http).EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl, token, CancellationToken.None);
        var refused = await UnwrapAsync(http, theirs.Credential, wrapped);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
    }

    private async Task<HttpResponseMessage> UnwrapAsync(HttpClient http, string credential, string wrapped)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_gateway.HttpUrl, "/api/v1/agents/data-keys/unwrap"))
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { wrapped }),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", credential);
        return await http.SendAsync(request);
    }
}
