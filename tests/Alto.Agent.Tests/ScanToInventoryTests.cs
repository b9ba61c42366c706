using System.Diagnostics;
using System.Runtime.Versioning;
using Alto.Agent.Enrollment;
using Alto.Agent.Scanning;
using Alto.Scanning;
using Alto.TestSupport;

namespace Alto.Agent.Tests;

/// <summary>
/// Agent → gateway → PostgreSQL on a generated tree, over real sockets: the inventory must
/// match the tree exactly, follow its changes, and not depend on the chunk format.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ScanToInventoryTests(RunningGateway running) : IClassFixture<RunningGateway>, IDisposable
{
    private static readonly DateTime Old = new(2020, 3, 4, 5, 6, 7, DateTimeKind.Utc);
    private readonly GatewayProcess _gateway = running.Gateway;
    private readonly string _tree = Directory.CreateTempSubdirectory("alto-tree-").FullName;

    /// <summary>rm, because .NET cannot name (and so cannot delete) a file whose name is not UTF-8.</summary>
    public void Dispose()
    {
        using var remove = Process.Start("rm", ["-rf", "--", _tree, _tree + "-state"]);
        remove.WaitForExit();
    }

    [Fact]
    public async Task TheInventoryMatchesTheTreeAndFollowsItsChanges()
    {
        var files = GenerateTree();
        var agent = await EnrollAsync();

        var first = await ScanAsync(agent, "csv", ChunkCompressionKind.Zstd);
        Assert.Equal((files.Count, files.Count, 0L), (first.Seen, first.Changed, first.Deleted));
        var inventory = await InventoryAsync(agent.HostId);
        Assert.Equal(files.Count, inventory.Count);
        foreach (var (path, expected) in files)
        {
            var row = inventory[path];
            Assert.Equal(expected.Size, row.Size);
            Assert.Equal(new DateTimeOffset(expected.Modified).ToUnixTimeSeconds(), row.Mtime);
            Assert.Equal(new DateTimeOffset(expected.Accessed).ToUnixTimeSeconds(), row.Atime);
            Assert.Equal(expected.Extension, row.Extension);
            Assert.Null(row.DeletedUtc);
        }
        // The file whose name is not UTF-8 comes back byte for byte.
        var odd = inventory.Single(pair => pair.Value.Escaped);
        Assert.Equal([.. System.Text.Encoding.UTF8.GetBytes(_tree + "/odd/caf"), 0xE9, .. ".dat"u8],
            PathEncoding.Decode(odd.Key, PathEncodingKind.Escaped));
        Assert.Equal((files.Count, files.Values.Sum(file => file.Size)), await HostTotalsAsync(agent));

        // Rename, delete, grow and touch one file each.
        File.Move(Path.Combine(_tree, "docs/a.txt"), Path.Combine(_tree, "docs/a-renamed.txt"));
        File.Delete(Path.Combine(_tree, "docs/b.pdf"));
        await File.AppendAllTextAsync(Path.Combine(_tree, "media/c.mp4"), new string('x', 5000));
        File.SetLastWriteTimeUtc(Path.Combine(_tree, "media/d.mov"), Old.AddDays(400));

        var second = await ScanAsync(agent, "csv", ChunkCompressionKind.Gzip);
        Assert.Equal((files.Count - 1, 3L, 2L), (second.Seen, second.Changed, second.Deleted));
        var after = await InventoryAsync(agent.HostId);
        Assert.NotNull(after[_tree + "/docs/a.txt"].DeletedUtc);
        Assert.NotNull(after[_tree + "/docs/b.pdf"].DeletedUtc);
        Assert.Null(after[_tree + "/docs/a-renamed.txt"].DeletedUtc);
        Assert.Equal(files[_tree + "/media/c.mp4"].Size + 5000, after[_tree + "/media/c.mp4"].Size);
        Assert.Equal(new DateTimeOffset(Old.AddDays(400)).ToUnixTimeSeconds(), after[_tree + "/media/d.mov"].Mtime);
        // The host's totals follow: one file fewer, the deleted one's bytes gone and the grown one's added.
        Assert.Equal((files.Count - 1, files.Values.Sum(file => file.Size) - files[_tree + "/docs/b.pdf"].Size + 5000), await HostTotalsAsync(agent));
        // History: the versions the second scan superseded (the grown and the touched file), as the first scan saw them.
        Assert.Equal(2, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.file f JOIN alto.file_current c USING (file_current_id) WHERE c.host_id = '{agent.HostId}'"));
        Assert.Equal(files[_tree + "/media/c.mp4"].Size, await _gateway.Database.CountAsync(
            $"SELECT f.size_bytes FROM alto.file f JOIN alto.file_current c USING (file_current_id) JOIN alto.scan s ON s.id = f.scan_id " +
            $"WHERE c.host_id = '{agent.HostId}' AND c.full_path = '{_tree}/media/c.mp4' AND s.scan_uid = '{first.ScanId}'"));

        // A third scan of an unchanged tree changes nothing.
        var third = await ScanAsync(agent, "csv", ChunkCompressionKind.None);
        Assert.Equal((0L, 0L), (third.Changed, third.Deleted));
    }

    [Fact]
    public async Task AnIncrementalRescanSendsOnlyChangedFoldersAndTheInventoryStillFollowsTheTree()
    {
        var files = GenerateTree();
        var agent = await EnrollAsync();
        var digestsFile = DigestsFile();
        using var http = new HttpClient();
        var gateway = new Connection.GatewayClient(http, agent);

        var first = await ScanAsync(agent, "csv", ChunkCompressionKind.Zstd, await DigestsAsync(gateway, digestsFile), digestsFile);
        Assert.Equal(files.Count, first.Seen);
        var before = await RowVersionsAsync(agent.HostId);

        // A file grows, a folder is deleted, a file moves between folders, a folder is emptied, a new folder appears.
        await File.AppendAllTextAsync(Path.Combine(_tree, "media/c.mp4"), "more");
        Directory.Delete(Path.Combine(_tree, "bulk/3"), recursive: true);
        File.Move(Path.Combine(_tree, "bulk/4/file-4.log"), Path.Combine(_tree, "bulk/5/file-4.log"));
        File.Delete(Path.Combine(_tree, "docs/deep/er/nested/e.docx"));
        Directory.CreateDirectory(Path.Combine(_tree, "fresh"));
        await File.WriteAllTextAsync(Path.Combine(_tree, "fresh/new.txt"), "new");

        var digests = await DigestsAsync(gateway, digestsFile);
        Assert.Equal(first.ScanId, digests.BaseScanId);
        var second = await ScanAsync(agent, "csv", ChunkCompressionKind.Zstd, digests, digestsFile);

        // Only the changed folders' files were sent: media, bulk/4, bulk/5 and fresh.
        var sent = Directory.GetFiles(Path.Combine(_tree, "media")).Length + Directory.GetFiles(Path.Combine(_tree, "bulk/4")).Length
                   + Directory.GetFiles(Path.Combine(_tree, "bulk/5")).Length + 1;
        Assert.Equal(sent, second.Seen);
        Assert.Equal("incremental", await _gateway.Database.ScalarAsync<string>($"SELECT kind FROM alto.scan WHERE scan_uid = '{second.ScanId}'"));
        // Unchanged: docs, bulk/0, 1, 2, 6 and odd (docs/deep/er/nested has no file left to name).
        Assert.Equal(6, await _gateway.Database.CountAsync($"SELECT folders_unchanged FROM alto.scan WHERE scan_uid = '{second.ScanId}'"));
        Assert.Equal(0, await _gateway.Database.CountAsync("SELECT count(*) FROM scan_staging.unchanged_part p JOIN alto.scan s ON s.id = p.scan_id " +
                                                           $"WHERE s.scan_uid = '{second.ScanId}'"));

        // The inventory is the tree as it is now, exactly.
        var inventory = await InventoryAsync(agent.HostId);
        var live = inventory.Where(pair => pair.Value.DeletedUtc is null).Select(pair => pair.Key).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(TreeFiles(files), live);
        Assert.Equal(files[_tree + "/media/c.mp4"].Size + 4, inventory[_tree + "/media/c.mp4"].Size);
        // The 43 files of bulk/3, the moved file's old path and the emptied folder's file are gone.
        Assert.Equal(43 + 1 + 1, second.Deleted);
        // The host's totals count the carried-over files as well as the sent ones.
        Assert.Equal((live.Count, inventory.Values.Where(row => row.DeletedUtc is null).Sum(row => row.Size)), await HostTotalsAsync(agent));
        // Files of unchanged folders were carried over untouched.
        var after = await RowVersionsAsync(agent.HostId);
        foreach (var path in new[] { "docs/a.txt", "bulk/0/file-0.log", "bulk/6/file-6.log" })
        {
            Assert.Equal(before[_tree + "/" + path], after[_tree + "/" + path]);
        }

        // A rescan of the unchanged tree sends no file and changes nothing.
        var third = await ScanAsync(agent, "csv", ChunkCompressionKind.Zstd, await DigestsAsync(gateway, digestsFile), digestsFile);
        Assert.Equal((0L, 0L, 0L), (third.Seen, third.Changed, third.Deleted));
        Assert.Equal(live, (await InventoryAsync(agent.HostId)).Where(pair => pair.Value.DeletedUtc is null).Select(pair => pair.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AnIncrementalScanWhoseBaseIsNotTheLastIngestedFailsAndChangesNothing()
    {
        GenerateTree();
        var agent = await EnrollAsync();
        var digestsFile = DigestsFile();
        using var http = new HttpClient();
        var gateway = new Connection.GatewayClient(http, agent);
        var first = await ScanAsync(agent, "csv", ChunkCompressionKind.Zstd, await DigestsAsync(gateway, digestsFile), digestsFile);
        var stale = FolderDigests.Load(digestsFile)!;
        // Another scan is ingested meanwhile (the admin's, or one whose digests were lost): the first one's digests no longer describe the inventory.
        await ScanAsync(agent, "csv", ChunkCompressionKind.Zstd);
        File.Delete(Path.Combine(_tree, "docs/a.txt"));
        var inventory = await InventoryAsync(agent.HostId);

        // The agent itself would now scan in full; sent anyway (a race), the server refuses to carry anything over.
        Assert.Null((await DigestsAsync(gateway, digestsFile)).BaseScanId);
        var racing = FolderDigests.Continuing(stale, first.ScanId, FolderDigests.ThisHost);
        var sink = new UploadSink(http, agent.Gateway, agent.Credential, agent.HostId, agent.TenantId, [_tree]);
        var result = await new ScanRunner(sink).RunAsync(
            new ScanSettings([_tree], "csv", ChunkCompressionKind.Zstd, BatchRows: 50, Workers: 2, CrossMounts: false, racing), new ScanCounters(), CancellationToken.None);

        var status = await WaitForIngestAsync(result.ScanId);
        Assert.Equal("failed", status);
        Assert.Contains($"continues scan {first.ScanId}", await _gateway.Database.ScalarAsync<string>($"SELECT last_error FROM alto.scan WHERE scan_uid = '{result.ScanId}'"));
        Assert.Equal(inventory, await InventoryAsync(agent.HostId));
        Assert.Equal(0, await _gateway.Database.CountAsync("SELECT count(*) FROM scan_staging.unchanged_part p JOIN alto.scan s ON s.id = p.scan_id " +
                                                           $"WHERE s.scan_uid = '{result.ScanId}'"));
    }

    [Fact]
    public async Task AnExtensionRuleMatchesWhatTheScannerStored()
    {
        var files = GenerateTree();
        var agent = await EnrollAsync();
        await ScanAsync(agent, "csv", ChunkCompressionKind.Zstd);
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        await admin.PatchAsync($"/api/v1/tenants/{agent.TenantId}", new { minTierableBytes = 0 });
        var target = await admin.PostAsync($"/api/v1/tenants/{agent.TenantId}/targets",
            new { name = "ext-" + Guid.NewGuid().ToString("N")[..8], kind = "path", settings = new { path = $"/mnt/tier2/{Guid.NewGuid():N}" } });
        // Written the ways admins write them: with and without the dot, in any case.
        await admin.PostAsync($"/api/v1/tenants/{agent.TenantId}/rules", new
        {
            name = "documents and clips",
            targetId = target.GetProperty("id").GetGuid(),
            criteria = new { accessedOlderThanDays = 30, extensions = new[] { ".PDF", "mov" } },
        });

        var preview = await admin.PostAsync($"/api/v1/tenants/{agent.TenantId}/hosts/{agent.HostId}/plan?dryRun=true", new { });

        var expected = files.Where(file => file.Value.Extension is "pdf" or "mov").Select(file => file.Key).Order().ToList();
        Assert.Equal(3, expected.Count);
        Assert.Equal(expected.Count, preview.GetProperty("filesToTier").GetInt32());
        Assert.Equal(expected, preview.GetProperty("rules")[0].GetProperty("samplePaths").EnumerateArray().Select(path => path.GetString()!).Order());
    }

    [Fact]
    public async Task CsvAndParquetProduceTheSameInventory()
    {
        GenerateTree();
        var csvAgent = await EnrollAsync();
        var parquetAgent = await EnrollAsync();

        await ScanAsync(csvAgent, "csv", ChunkCompressionKind.Zstd);
        await ScanAsync(parquetAgent, "parquet", ChunkCompressionKind.Zstd);

        var csv = await InventoryAsync(csvAgent.HostId);
        var parquet = await InventoryAsync(parquetAgent.HostId);
        Assert.Equal(csv.OrderBy(pair => pair.Key, StringComparer.Ordinal), parquet.OrderBy(pair => pair.Key, StringComparer.Ordinal));
    }

    private sealed record TreeFile(long Size, DateTime Modified, DateTime Accessed, string Extension);

    private sealed record InventoryRow(long Size, long Mtime, long Atime, string Extension, bool Escaped, DateTime? DeletedUtc);

    private sealed record ScanOutcome(long Seen, long Changed, long Deleted, Guid ScanId);

    private Dictionary<string, TreeFile> GenerateTree()
    {
        var files = new Dictionary<string, TreeFile>();
        void Add(string relative, int size, int days)
        {
            var path = Path.Combine(_tree, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, new byte[size]);
            var modified = Old.AddDays(days);
            var accessed = Old.AddDays(days + 30);
            File.SetLastWriteTimeUtc(path, modified);
            File.SetLastAccessTimeUtc(path, accessed);
            files[path] = new TreeFile(size, modified, accessed, Path.GetExtension(path).TrimStart('.').ToLowerInvariant());
        }
        Add("docs/a.txt", 10, 1);
        Add("docs/b.pdf", 2048, 2);
        Add("docs/REPORT.PDF", 4096, 3);
        Add("docs/deep/er/nested/e.docx", 300, 4);
        Add("media/c.mp4", 100_000, 5);
        Add("media/d.mov", 0, 6);
        Add("media/no-extension", 17, 7);
        Add("media/with, comma \"and quotes\".csv", 42, 8);
        for (var i = 0; i < 300; i++)
        {
            Add($"bulk/{i % 7}/file-{i}.log", i, 10 + (i % 50));
        }
        // A LucidLink filespace's audit trail is the agent's input, never inventory: not in the expected files.
        Directory.CreateDirectory(Path.Combine(_tree, "media", ".lucid_audit", "node-1", "2026", "11"));
        File.WriteAllText(Path.Combine(_tree, "media", ".lucid_audit", "node-1", "2026", "11", "1764300000.log.active"), "{}\n");
        // A name that is not valid UTF-8 (Latin-1 é), made by the shell because .NET cannot spell it.
        Directory.CreateDirectory(Path.Combine(_tree, "odd"));
        using (var touch = Process.Start("bash", ["-c", $"printf 'x' > \"{_tree}/odd/\"$'caf\\xe9.dat' && touch -m -d '2021-01-01 00:00:00Z' -a \"{_tree}/odd/\"$'caf\\xe9.dat'"]))
        {
            touch.WaitForExit();
        }
        using (var times = Process.Start("bash", ["-c", $"touch -d '2021-01-01 00:00:00Z' \"{_tree}/odd/\"$'caf\\xe9.dat'"]))
        {
            times.WaitForExit();
        }
        var (oddText, _) = PathEncoding.Encode([.. System.Text.Encoding.UTF8.GetBytes(_tree + "/odd/caf"), 0xE9, .. ".dat"u8]);
        var oddTime = new DateTime(2021, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        files[oddText] = new TreeFile(1, oddTime, oddTime, "dat");
        // A symlink is not followed and not inventoried.
        File.CreateSymbolicLink(Path.Combine(_tree, "docs/link-to-etc"), "/etc");
        return files;
    }

    private Task<AgentCredentials> EnrollAsync() => AgentEnrollment.EnrollNewHostAsync(_gateway, _tree);

    /// <summary>
    /// The host's file count and bytes as the API shows them once it has recorded its last ingest
    /// (just after the ingest's transaction, so a read may come a moment early).
    /// </summary>
    private async Task<(long Files, long Bytes)> HostTotalsAsync(AgentCredentials agent)
    {
        using var admin = await AdminApi.SignInAsync(_gateway.HttpUrl, GatewayProcess.AdminPassword);
        var lastIngest = await _gateway.Database.ScalarAsync<DateTime>(
            $"SELECT max(completed_at) FROM alto.scan WHERE host_id = '{agent.HostId}' AND status = 'completed'");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var host = await admin.GetAsync($"/api/v1/tenants/{agent.TenantId}/hosts/{agent.HostId}");
            var recorded = host.GetProperty("lastScanAt") is { ValueKind: System.Text.Json.JsonValueKind.String } at
                           && at.GetDateTimeOffset().UtcDateTime == DateTime.SpecifyKind(lastIngest, DateTimeKind.Utc);
            if (recorded || DateTime.UtcNow > deadline)
            {
                Assert.True(recorded, "the host did not record its last ingest");
                return (host.GetProperty("fileCount").GetInt64(), host.GetProperty("totalBytes").GetInt64());
            }
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Runs a real scan with small chunks and waits for its ingest; with digests, as the service
    /// does (incremental when they continue the last ingested scan), saving them after.
    /// </summary>
    private async Task<ScanOutcome> ScanAsync(
        AgentCredentials agent, string format, ChunkCompressionKind compression, FolderDigests? digests = null, string? digestsFile = null)
    {
        using var http = new HttpClient();
        var sink = new UploadSink(http, agent.Gateway, agent.Credential, agent.HostId, agent.TenantId, [_tree]);
        var result = await new ScanRunner(sink).RunAsync(
            new ScanSettings([_tree], format, compression, BatchRows: 50, Workers: 2, CrossMounts: false, digests), new ScanCounters(), CancellationToken.None);
        Assert.True(result.Chunks > 1 || digests?.BaseScanId is not null);
        if (digests is not null)
        {
            FolderDigests.Save(digestsFile!, digests.After(result.ScanId, [_tree]));
        }
        Assert.Equal("completed", await WaitForIngestAsync(result.ScanId));
        return new ScanOutcome(
            await _gateway.Database.CountAsync($"SELECT count(*) FROM (SELECT DISTINCT file_path FROM scan_staging.raw_scans r JOIN alto.scan s ON s.id = r.scan_id WHERE s.scan_uid = '{result.ScanId}') x"),
            await _gateway.Database.CountAsync($"SELECT files_changed FROM alto.scan WHERE scan_uid = '{result.ScanId}'"),
            await _gateway.Database.CountAsync($"SELECT files_deleted FROM alto.scan WHERE scan_uid = '{result.ScanId}'"),
            result.ScanId);
    }

    /// <summary>The scan's status once its ingest is over: completed or failed.</summary>
    private async Task<string> WaitForIngestAsync(Guid scanId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var status = await _gateway.Database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE scan_uid = '{scanId}'");
            if (status is "completed" or "failed")
            {
                return status;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"scan {scanId} was not ingested in time");
    }

    /// <summary>Where this test's agent keeps its folder digests (beside the tree, removed with it).</summary>
    private string DigestsFile() => Path.Combine(Directory.CreateDirectory(_tree + "-state").FullName, FolderDigests.FileName);

    private static Task<FolderDigests> DigestsAsync(Connection.GatewayClient gateway, string file) =>
        FolderDigests.ForScanAsync(file, full: false, FolderDigests.ThisHost, () => gateway.GetLastScanAsync(CancellationToken.None));

    /// <summary>The files of the tree as a scan reports them (the odd name escaped), in ordinal order.</summary>
    private List<string> TreeFiles(Dictionary<string, TreeFile> generated)
    {
        var odd = generated.Keys.Single(path => path.Contains("/odd/", StringComparison.Ordinal));
        return Directory.EnumerateFiles(_tree, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Where(path => !path.Contains("/.lucid_audit/", StringComparison.Ordinal) && !path.Contains("/odd/", StringComparison.Ordinal))
            .Append(odd).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Each live file's row version: when it was last written and by which scan.</summary>
    private async Task<Dictionary<string, (long Scan, DateTime Updated)>> RowVersionsAsync(Guid hostId)
    {
        var rows = new Dictionary<string, (long, DateTime)>(StringComparer.Ordinal);
        await using var command = _gateway.Database.DataSource.CreateCommand(
            "SELECT full_path, last_seen_scan_id, updated_utc FROM alto.file_current WHERE host_id = $1 AND deleted_utc IS NULL");
        command.Parameters.Add(new Npgsql.NpgsqlParameter<Guid> { TypedValue = hostId });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows[reader.GetString(0)] = (reader.GetInt64(1), reader.GetDateTime(2));
        }
        return rows;
    }

    private async Task<Dictionary<string, InventoryRow>> InventoryAsync(Guid hostId)
    {
        var rows = new Dictionary<string, InventoryRow>(StringComparer.Ordinal);
        await using var command = _gateway.Database.DataSource.CreateCommand(
            "SELECT full_path, size_bytes, mtime_unix, atime_unix, file_extension, path_escaped, deleted_utc FROM alto.file_current WHERE host_id = $1");
        command.Parameters.Add(new Npgsql.NpgsqlParameter<Guid> { TypedValue = hostId });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows[reader.GetString(0)] = new InventoryRow(reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetString(4),
                reader.GetBoolean(5), await reader.IsDBNullAsync(6) ? null : reader.GetDateTime(6));
        }
        return rows;
    }
}
