using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.Scanning;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// Files whose names are not UTF-8 — Latin-1 and Shift-JIS names as old file servers hold them, in a
/// folder whose own name is Latin-1 — through the real agent and gateway: scanned (escaped, as the
/// scan format says), tiered to stubs under their own bytes, recalled when another program opens
/// one (the recall recorded against its file in the inventory) and recalled on command, by the
/// CLI and through the API. The names are made with the bytes themselves (libc <c>mkdir</c> and <c>rename</c>): .NET
/// cannot spell them.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class NonUtf8NamesEndToEndTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly GatewayProcess _gateway = running.Gateway;

    [Fact]
    public async Task FilesWhoseNamesAreNotUtf8AreTieredAndRecalledUnderTheirOwnBytes()
    {
        using var volume = ScratchFileSystem.TryCreate(out var whyNot) ?? throw new InvalidOperationException(whyNot);
        var state = Directory.CreateTempSubdirectory("alto-e2e-agent-").FullName;
        var pathTarget = Directory.CreateTempSubdirectory("alto-e2e-tier2-").FullName;
        try
        {
            await TierAndRecallAsync(volume, state, pathTarget);
        }
        finally
        {
            Directory.Delete(state, true);
            Directory.Delete(pathTarget, true);
        }
    }

    private async Task TierAndRecallAsync(ScratchFileSystem volume, string state, string pathTarget)
    {
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenant = await admin.CreateTenantAsync($"bytes-{Guid.NewGuid():N}"[..24], tierAtOnce: true);
        var target = await admin.PostAsync($"/api/v1/tenants/{tenant}/targets", new { name = "nas", kind = "path", settings = new { path = pathTarget } });
        await admin.PostAsync($"/api/v1/tenants/{tenant}/rules", new { name = "cold", targetId = target.GetProperty("id").GetGuid(), criteria = new { accessedOlderThanDays = 30 } });
        var (hostId, token) = await admin.RegisterHostAsync(tenant, "fs-latin1", volume.Root);

        // Each name as bytes: é in Latin-1 (0xE9), Latin-1 folders, あ in Shift-JIS (0x82 0xA0), and a plain one beside them.
        string Named(params byte[] below) => RawPaths.FromBytes([.. System.Text.Encoding.UTF8.GetBytes(volume.Root + "/"), .. below]);
        StubFiles.MakeRawFolder(Named([.. "r"u8, 0xE9, .. "sum"u8, 0xE9, .. "s"u8]));
        Directory.CreateDirectory(Path.Combine(volume.Root, "cli"));
        StubFiles.MakeRawFolder(Named([.. "cli/"u8, 0xE9, .. "t"u8, 0xE9]));
        var files = new[]
        {
            Named([.. "caf"u8, 0xE9, .. ".pdf"u8]),
            Named([.. "r"u8, 0xE9, .. "sum"u8, 0xE9, .. "s/notes.txt"u8]),
            Named([.. "cli/"u8, 0x82, 0xA0, .. ".bin"u8]),
            Named([.. "cli/"u8, 0xE9, .. "t"u8, 0xE9, .. "/deep.bin"u8]),
            Named([.. "plain.pdf"u8]),
        }.Select((path, i) => (path, StubFiles.WriteUnderRawName(path, 50_000 + i * 70_000, new DateTime(2020, 2, 3, 4, 5, 6, DateTimeKind.Utc))))
        .ToDictionary();
        Assert.Equal(4, files.Keys.Count(RawPaths.HasRawBytes));

        await using var agent = await TieringAgent.EnrollScanAndRunAsync(_gateway, token, state, Patience);
        await TieringAgent.WaitForStubbedAsync(_gateway, hostId, files.Count, agent, Patience);
        var deadline = DateTime.UtcNow + Patience;
        // The inventory holds the four odd names escaped, byte for byte.
        Assert.Equal(4, await _gateway.Database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{hostId}' AND path_escaped"));
        foreach (var (path, original) in files)
        {
            // Looked at by path only (through the agent's own libc calls, which take the bytes): opening would recall it.
            var stub = LinuxStubs.Peek(path) ?? throw new InvalidOperationException($"{RawPaths.Display(path)} is not a stub");
            var status = LinuxFiles.StatPath(path);
            Assert.InRange(status.Blocks * 512, 0, 4096);
            Assert.Equal(original.Length, status.Size);
            Assert.Equal(StubFiles.Sha256(original), stub.Sha256);
        }

        // A reconciliation's census asks the agent about every stub, the odd names escaped and apart; the agent looks them
        // up by their bytes and answers them as asked: each is found a stub, its record's own, and none is left unchecked.
        var started = await admin.PostAsync($"/api/v1/tenants/{tenant}/targets/{target.GetProperty("id").GetGuid()}/reconcile", new { depth = "list" });
        var runId = started.GetProperty("runId").GetGuid();
        var run = await admin.GetAsync($"/api/v1/tenants/{tenant}/reconcile-runs/{runId}");
        while (run.GetProperty("status").GetString() is "listing" or "census")
        {
            Assert.True(DateTime.UtcNow < deadline, $"reconcile run {runId} did not end; agent output:\n{agent.Output}");
            await Task.Delay(200);
            run = await admin.GetAsync($"/api/v1/tenants/{tenant}/reconcile-runs/{runId}");
        }
        Assert.True(run.GetProperty("status").GetString() == "completed", run.ToString());
        var counts = run.GetProperty("counts");
        Assert.Equal((0L, 0L, 0L), (counts.GetProperty("unchecked").GetInt64(), counts.GetProperty("drift").GetInt64(), counts.GetProperty("missing").GetInt64()));
        Assert.Contains($"Reconcile run {runId}: census of 4 path(s) sent, 0 not a stub", agent.Output, StringComparison.Ordinal);

        // Another program opens the Latin-1 stub: recalled on open, and the recall is recorded against its escaped row.
        var latin1 = files.Keys.First(path => path.EndsWith(".pdf", StringComparison.Ordinal) && RawPaths.HasRawBytes(path));
        Assert.Equal(StubFiles.Sha256(files[latin1]), await ShellSha256Async(latin1));
        Assert.Null(LinuxStubs.Peek(latin1));
        var escaped = RawPaths.ToWire(latin1);
        Assert.True(escaped.Escaped);
        Assert.Equal(escaped.Text, PathEncoding.Encode(RawPaths.ToBytes(latin1)).Text);
        while (await _gateway.Database.CountAsync($"""
                   SELECT count(*) FROM alto.tier_object t JOIN alto.file_current f ON f.file_current_id = t.file_current_id
                   WHERE t.host_id = '{hostId}' AND f.full_path = '{escaped.Text}' AND f.path_escaped AND t.state = 'RECALLED' AND t.access_count = 1
                   """) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline + Patience, $"the recall of {escaped.Text} was not recorded; agent output:\n{agent.Output}");
            await Task.Delay(200);
        }

        // Recall on command by the CLI, of a folder: its walk reads the names' bytes, into a Latin-1 folder below it too.
        var agentDll = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
        await using (var cli = ProgramRun.Start(agentDll, new Dictionary<string, string>(), "recall", Path.Combine(volume.Root, "cli")))
        {
            Assert.True(0 == await cli.WaitForExitAsync(Patience), cli.Output);
            Assert.Contains("2 recalled, 0 failed, 0 file(s) were not stubs", cli.Output, StringComparison.Ordinal);
            Assert.Contains("/cli/\\x82\\xA0.bin", cli.Output, StringComparison.Ordinal);
        }
        while (await _gateway.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{hostId}' AND state = 'RECALLED'") < 3)
        {
            Assert.True(DateTime.UtcNow < deadline + Patience, $"the CLI's recalls were not recorded; agent output:\n{agent.Output}");
            await Task.Delay(200);
        }

        // Recall on command through the API, by folder: the odd names go in a command of their own, marked escaped.
        var receipt = await admin.PostAsync($"/api/v1/tenants/{tenant}/hosts/{hostId}/recall", new { directory = volume.Root });
        Assert.Equal(files.Count - 3, receipt.GetProperty("files").GetInt32());
        Assert.Equal(2, receipt.GetProperty("commands").GetInt32());
        while (await _gateway.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{hostId}' AND state = 'RECALLED'") < files.Count)
        {
            Assert.True(DateTime.UtcNow < deadline + 2 * Patience, $"not every stub was recalled; agent output:\n{agent.Output}");
            await Task.Delay(200);
        }
        foreach (var (path, original) in files)
        {
            Assert.Null(LinuxStubs.Peek(path));
            Assert.Equal(StubFiles.Sha256(original), await ShellSha256Async(path));
        }
        Assert.Equal(0, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{tenant}' AND action IN ('tier.failed', 'tier.recall_failed')"));
        await agent.StopAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>The SHA-256 of the file, read by another process (bash spells the name from its escaped text).</summary>
    private static async Task<string> ShellSha256Async(string path)
    {
        var (exitCode, output) = await StubFiles.ShellAsync(
            $"bash -c 'sha256sum -- \"$(printf \"%b\" \"$1\")\"' sha '{RawPaths.ToWire(path).Text}'");
        Assert.True(exitCode == 0, output);
        return output[..64];
    }
}
