using System.Runtime.Versioning;
using Alto.Agent.Enrollment;
using Alto.Agent.Scanning;
using Alto.Agent.Stubs;
using Alto.Scanning;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Scanning;

/// <summary>
/// The Windows scan's portable core (<see cref="PortableTreeWalker"/>) on a real tree, with the
/// Win32 calls answered by <see cref="WindowsFileFactsStandIn"/>: it writes the seed's format in the
/// Windows flavour (C:\Data\docs\report.pdf, DOMAIN\user owners, the FRN, stubs marked), follows no
/// junction or link, keeps paths longer than MAX_PATH, counts what it may not read — and its
/// chunks go through the real gateway into the inventory of a Windows host.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class WindowsScanTests(RunningGateway running) : IClassFixture<RunningGateway>, IDisposable
{
    private const string Root = @"C:\Data";
    private static readonly DateTime Modified = new(2025, 1, 15, 10, 30, 0, DateTimeKind.Utc);
    private static readonly DateTime Accessed = new(2025, 10, 20, 14, 22, 0, DateTimeKind.Utc);
    private static readonly string Deep = string.Join('/', Enumerable.Range(1, 6).Select(level => $"level-{level}-" + new string('x', 45)));
    private readonly string _tree = Directory.CreateTempSubdirectory("alto-windows-tree-").FullName;

    public void Dispose() => Directory.Delete(_tree, true);

    [Fact]
    public async Task ThePortableScannerWritesTheSeedsFormatInTheWindowsFlavour()
    {
        var facts = BuildTree();
        var output = Path.Combine(_tree, "..", Path.GetFileName(_tree) + "-chunks");
        var counters = new ScanCounters();
        try
        {
            await ScanAsync(new DirectorySink(output), facts, counters, "csv");
            var rows = new List<ScanRecord>();
            foreach (var chunk in Directory.GetFiles(output).Order())
            {
                rows.AddRange(await CsvScanReader.ReadAllAsync(await File.ReadAllBytesAsync(chunk), PathFlavor.Windows));
            }
            var byPath = rows.ToDictionary(row => row.FilePath, StringComparer.Ordinal);

            Assert.Equal(ExpectedPaths().Order(), byPath.Keys.Order());
            var report = byPath[@"C:\Data\docs\report.pdf"];
            Assert.Equal((5_242_880L, "pdf", "rw-r--r--", @"DOMAIN\user1", false), (report.FileSize, report.FileExtension, report.Permissions, report.Owner, report.IsStub));
            Assert.Equal(new DateTimeOffset(Modified), report.LastModified);
            Assert.Equal(new DateTimeOffset(Accessed), report.LastAccessed);
            Assert.Equal((long)LinuxFiles.StatPath(Path.Combine(_tree, "docs/report.pdf")).Inode, report.FileId);
            Assert.Equal(@"DOMAIN\user2", byPath[@"C:\Data\images\photo.jpg"].Owner);
            Assert.Equal(WindowsFileFactsStandIn.DefaultOwner, byPath[@"C:\Data\images\café.png"].Owner);
            Assert.True(byPath[@"C:\Data\archive\old.iso"].IsStub);
            Assert.Equal("v2", byPath[@"C:\Data\docs.v2\notes.v2"].FileExtension);
            Assert.Equal("", byPath[@"C:\Data\docs.v2\README"].FileExtension);
            Assert.True(byPath.Keys.Single(path => path.EndsWith("deep.txt", StringComparison.Ordinal)).Length > 260);
            Assert.All(rows, row => Assert.Null(row.Hash));

            Assert.Equal((2L, 1L, 0L), (counters.SymlinksSkipped, counters.PermissionDenied, counters.OtherErrors));
        }
        finally
        {
            Directory.Delete(output, true);
        }
    }

    [Fact]
    public async Task AWindowsTreeReachesTheInventoryOfAWindowsHostWithItsOwnersFileIdsAndStubs()
    {
        var facts = BuildTree();
        using var admin = await AdminApi.SignInAsync(running.Gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenant = await admin.CreateTenantAsync($"win-{Guid.NewGuid():N}"[..20]);
        var host = await admin.PostAsync($"/api/v1/tenants/{tenant}/hosts", new { name = "fs-win", os = "windows", volumes = new[] { Root } });
        using var http = new HttpClient();
        var agent = await new EnrollmentClient(http).EnrollAsync(
            running.Gateway.HttpUrl, running.Gateway.GrpcUrl, host.GetProperty("enrollmentToken").GetString()!, CancellationToken.None);

        foreach (var format in new[] { "csv", "parquet" })
        {
            var sink = new UploadSink(http, agent.Gateway, agent.Credential, agent.HostId, agent.TenantId, [Root]);
            var scanId = await ScanAsync(sink, facts, new ScanCounters(), format);
            await WaitForIngestAsync(scanId);
        }

        var inventory = new Dictionary<string, (string Owner, long Frn, bool IsStub)>(StringComparer.Ordinal);
        await using (var command = running.Gateway.Database.DataSource.CreateCommand(
                         $"SELECT full_path, owner, frn, is_stub FROM alto.file_current WHERE host_id = '{agent.HostId}' AND deleted_utc IS NULL"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                inventory[reader.GetString(0)] = (reader.GetString(1), reader.GetInt64(2), reader.GetBoolean(3));
            }
        }
        Assert.Equal(ExpectedPaths().Order(), inventory.Keys.Order());
        Assert.Equal((@"DOMAIN\user1", (long)LinuxFiles.StatPath(Path.Combine(_tree, "docs/report.pdf")).Inode, false), inventory[@"C:\Data\docs\report.pdf"]);
        Assert.True(inventory[@"C:\Data\archive\old.iso"].IsStub);
    }

    /// <summary>
    /// A folder listed by its parent and gone before it is read (deleted in the middle of the scan,
    /// one worker reading folders in turn) is counted as vanished; the scan goes on and ends. (.NET
    /// asks the enumerator's error hook about the folder it fails to open, so this is the hook's count.)
    /// </summary>
    [Fact]
    public async Task AFolderThatVanishesInTheMiddleOfTheScanIsCountedNotFatal()
    {
        Directory.CreateDirectory(Path.Combine(_tree, "gone"));
        await File.WriteAllTextAsync(Path.Combine(_tree, "gone", "inner.txt"), "x");
        await File.WriteAllTextAsync(Path.Combine(_tree, "trigger.txt"), "y");
        var facts = new WindowsFileFactsStandIn(_tree, Root)
        {
            BeforeRead = relative =>
            {
                if (relative == "trigger.txt")
                {
                    Directory.Delete(Path.Combine(_tree, "gone"), recursive: true);
                }
            },
        };
        var output = Path.Combine(_tree, "..", Path.GetFileName(_tree) + "-vanished");
        var counters = new ScanCounters();
        try
        {
            await new ScanRunner(new DirectorySink(output), (options, walkCounters) => new PortableTreeWalker(options, walkCounters, facts)).RunAsync(
                new ScanSettings([_tree], "csv", ChunkCompressionKind.None, BatchRows: 10, Workers: 1, CrossMounts: false), counters, CancellationToken.None);
            var rows = new List<ScanRecord>();
            foreach (var chunk in Directory.GetFiles(output))
            {
                rows.AddRange(await CsvScanReader.ReadAllAsync(await File.ReadAllBytesAsync(chunk), PathFlavor.Windows));
            }
            Assert.Equal([@"C:\Data\trigger.txt"], rows.Select(row => row.FilePath));
            Assert.Equal((1L, 1L), (counters.Vanished, counters.Directories));
        }
        finally
        {
            Directory.Delete(output, true);
        }
    }

    /// <summary>
    /// The seed's two files and a few more: a stub, a name with an accent, dotted folder and file
    /// names, a path longer than MAX_PATH, a junction and a file link (neither followed), and a
    /// file the scan may not read.
    /// </summary>
    private WindowsFileFactsStandIn BuildTree()
    {
        foreach (var (relative, size) in new[]
                 {
                     ("docs/report.pdf", 5_242_880), ("images/photo.jpg", 2_097_152), ("images/café.png", 10), ("archive/old.iso", 4096),
                     ("docs.v2/notes.v2", 3), ("docs.v2/README", 4), ($"{Deep}/deep.txt", 5), ("secret/denied.txt", 6),
                 })
        {
            var path = Path.Combine(_tree, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var file = File.Create(path))
            {
                file.SetLength(size);
            }
            File.SetLastWriteTimeUtc(path, Modified);
            File.SetLastAccessTimeUtc(path, Accessed);
        }
        Directory.CreateSymbolicLink(Path.Combine(_tree, "junction-to-docs"), Path.Combine(_tree, "docs"));
        File.CreateSymbolicLink(Path.Combine(_tree, "images", "shortcut.pdf"), Path.Combine(_tree, "docs", "report.pdf"));
        var facts = new WindowsFileFactsStandIn(_tree, Root);
        facts.Owners[@"docs\report.pdf"] = @"DOMAIN\user1";
        facts.Owners[@"images\photo.jpg"] = @"DOMAIN\user2";
        facts.Stubs.Add(@"archive\old.iso");
        facts.Denied.Add(@"secret\denied.txt");
        return facts;
    }

    private static IEnumerable<string> ExpectedPaths() =>
    [
        @"C:\Data\docs\report.pdf", @"C:\Data\images\photo.jpg", @"C:\Data\images\café.png", @"C:\Data\archive\old.iso",
        @"C:\Data\docs.v2\notes.v2", @"C:\Data\docs.v2\README", @"C:\Data\" + Deep.Replace('/', '\\') + @"\deep.txt",
    ];

    private async Task<Guid> ScanAsync(IChunkSink sink, WindowsFileFactsStandIn facts, ScanCounters counters, string format)
    {
        var result = await new ScanRunner(sink, (options, walkCounters) => new PortableTreeWalker(options, walkCounters, facts)).RunAsync(
            new ScanSettings([_tree], format, ChunkCompressionKind.None, BatchRows: 3, Workers: 2, CrossMounts: false), counters, CancellationToken.None);
        Assert.True(result.Chunks > 1);
        return result.ScanId;
    }

    private async Task WaitForIngestAsync(Guid scanId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await running.Gateway.Database.ScalarAsync<string?>($"SELECT status FROM alto.scan WHERE scan_uid = '{scanId}'") is var status && status != "completed")
        {
            Assert.NotEqual("failed", status);
            Assert.True(DateTime.UtcNow < deadline, $"scan {scanId} was not ingested in time");
            await Task.Delay(100);
        }
    }
}
