using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Alto.Scanning;
using Alto.TestSupport;

namespace Alto.Gateway.Tests;

/// <summary>
/// The seed's own examples, sent as a third-party scanner would: its eight-column CSV verbatim
/// (Windows paths, DOMAIN\user owners, sha256: hashes) to a Windows host, ingested into the
/// inventory with Windows folders, then its audit-update JSON with a path that differs only in
/// case. Also what a re-sent chunk with other content and the Content-Encoding header do, and
/// file times far from today.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class SeedUploadTests(GatewayFixture fixture)
{
    /// <summary>The seed's example chunk, exactly as alto-workflow.md writes it.</summary>
    private const string SeedCsv = """
        file_path,file_size,last_modified,last_accessed,file_extension,permissions,owner,hash
        "C:\Data\docs\report.pdf",5242880,2025-01-15T10:30:00Z,2025-10-20T14:22:00Z,.pdf,rw-r--r--,DOMAIN\user1,sha256:abc123...
        "C:\Data\images\photo.jpg",2097152,2024-11-01T08:15:00Z,2025-10-25T09:00:00Z,.jpg,rw-r--r--,DOMAIN\user2,sha256:def456...

        """;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task TheSeedsCsvLandsOnAWindowsHostAndItsAuditUpdateAppliesWhateverTheCase()
    {
        var agent = await EnrollAsync("windows", @"C:\Data");

        var receipt = await (await SendAsync(agent, Encoding.UTF8.GetBytes(SeedCsv), "encoding=none&final=true&root=" + Uri.EscapeDataString(@"C:\Data")))
            .AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(2, receipt.GetProperty("rows").GetInt32());
        Assert.True(receipt.GetProperty("ingestQueued").GetBoolean());

        var where = $"host_id = '{agent.HostId}' AND full_path = 'C:\\Data\\docs\\report.pdf'";
        await WaitForAsync($"SELECT count(*) FROM alto.file_current WHERE {where}", 1);
        Assert.Equal(@"C:\Data\docs", await fixture.Database.ScalarAsync<string>(
            $"SELECT d.path FROM alto.file_current f JOIN alto.dir d ON d.id = f.dir_id WHERE f.{where}"));
        Assert.Equal("report.pdf|pdf|DOMAIN\\user1|sha256:abc123...|5242880", await fixture.Database.ScalarAsync<string>(
            $"SELECT name || '|' || file_extension || '|' || owner || '|' || file_hash || '|' || size_bytes FROM alto.file_current WHERE {where}"));
        Assert.Equal(@"C:\Data\images|photo.jpg", await fixture.Database.ScalarAsync<string>(
            $"SELECT d.path || '|' || f.name FROM alto.file_current f JOIN alto.dir d ON d.id = f.dir_id WHERE f.host_id = '{agent.HostId}' AND f.file_extension = 'jpg'"));

        // The seed's audit-update shape, with the path spelled in another case (Windows does not care).
        using var client = fixture.AgentClient(agent);
        var read = DateTimeOffset.UtcNow.AddMinutes(-5);
        var batchId = Guid.NewGuid();
        var staged = await (await client.PostAsJsonAsync("/api/v1/audit-updates", new
        {
            update_batch_id = batchId, customer_id = agent.TenantId, volume_id = agent.HostId, source_type = "lucidlink_audit",
            collected_at = DateTimeOffset.UtcNow,
            updates = new[] { new { file_path = @"c:\data\DOCS\Report.PDF", last_accessed = read, access_type = "read", audit_file = @".lucid_audit\subfolder\audit_20251102.active" } },
        })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("staged", staged.GetProperty("status").GetString());
        // Applied by the host's inventory grain after the answer.
        var applied = $"SELECT applied FROM alto.audit_update_batch WHERE id = '{Apis.TrailUpdatesApi.HostScopedId(agent.HostId, batchId)}' AND applied_at IS NOT NULL";
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await fixture.Database.CountAsync($"SELECT count(*) FROM ({applied}) a") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the staged batch was not applied within 30 s");
            await Task.Delay(50);
        }
        Assert.Equal(1, await fixture.Database.CountAsync(applied));
        Assert.Equal(read.ToUnixTimeSeconds(), await fixture.Database.ScalarAsync<long>($"SELECT atime_unix FROM alto.file_current WHERE {where}"));
        Assert.Equal("lucidlink_audit", await fixture.Database.ScalarAsync<string>($"SELECT last_accessed_source FROM alto.file_current WHERE {where}"));
    }

    [Fact]
    public async Task WindowsFoldersAreFoundAtTheDriveTopAndOnUncShares()
    {
        var agent = await EnrollAsync("windows", @"C:\");
        const string csv = "file_path,file_size,last_modified,last_accessed\n"
            + "c:/top.txt,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n"
            + "\"\\\\fs01\\share\\Projects\\plan.doc\",2,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n";

        await (await SendAsync(agent, Encoding.UTF8.GetBytes(csv), "encoding=none&final=true")).AssertJsonAsync(HttpStatusCode.OK);

        await WaitForAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{agent.HostId}'", 2);
        Assert.Equal(@"C:\top.txt in C:\ as top.txt|\\fs01\share\Projects\plan.doc in \\fs01\share\Projects as plan.doc", await fixture.Database.ScalarAsync<string>(
            $"SELECT string_agg(f.full_path || ' in ' || d.path || ' as ' || f.name, '|' ORDER BY f.full_path) FROM alto.file_current f JOIN alto.dir d ON d.id = f.dir_id WHERE f.host_id = '{agent.HostId}'"));
    }

    [Fact]
    public async Task TheSeedsWindowsRowsAreRefusedByAPosixHostAndNothingIsStaged()
    {
        var agent = await EnrollAsync("linux", "/srv");
        var before = await StagedAsync();

        var problem = await (await SendAsync(agent, Encoding.UTF8.GetBytes(SeedCsv), "encoding=none")).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(("file_path", 1), (problem.GetProperty("column").GetString(), problem.GetProperty("row").GetInt32()));
        Assert.Equal(before, await StagedAsync());
    }

    [Fact]
    public async Task AChunkSentAgainWithOtherContentIsAConflictAndChangesNothing()
    {
        var agent = await EnrollAsync("linux", "/srv");
        var scan = Guid.NewGuid();
        const string header = "file_path,file_size,last_modified,last_accessed\n";
        var first = Encoding.UTF8.GetBytes(header + "/srv/a.txt,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n");
        var other = Encoding.UTF8.GetBytes(header + "/srv/b.txt,2,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n");

        await (await SendAsync(agent, first, "encoding=none", scan)).AssertJsonAsync(HttpStatusCode.OK);
        var staged = await StagedAsync();
        var conflict = await (await SendAsync(agent, other, "encoding=none", scan)).AssertProblemAsync(HttpStatusCode.Conflict);
        // The same content again is still a harmless duplicate.
        var again = await (await SendAsync(agent, first, "encoding=none", scan)).AssertJsonAsync(HttpStatusCode.OK);

        Assert.Contains("other content", conflict.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("duplicate", again.GetProperty("outcome").GetString());
        Assert.Equal(staged, await StagedAsync());
        Assert.Equal(0, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM scan_staging.raw_scans WHERE host_id = '{agent.HostId}' AND file_path = '/srv/b.txt'"));
    }

    [Theory]
    [InlineData("gzip", ChunkCompressionKind.Gzip, HttpStatusCode.OK)]
    [InlineData("zstd", ChunkCompressionKind.Zstd, HttpStatusCode.OK)]
    [InlineData("br", ChunkCompressionKind.Gzip, HttpStatusCode.BadRequest)]
    public async Task TheContentEncodingHeaderIsHonoured(string header, ChunkCompressionKind kind, HttpStatusCode expected)
    {
        var agent = await EnrollAsync("linux", "/srv");
        var body = ChunkCompression.Compress(Encoding.UTF8.GetBytes("file_path,file_size,last_modified,last_accessed\n/srv/a.txt,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n"), kind);

        var response = await SendAsync(agent, body, "", contentEncoding: header);

        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal(1, (await response.AssertJsonAsync(HttpStatusCode.OK)).GetProperty("rows").GetInt32());
        }
        else
        {
            await response.AssertProblemAsync(expected);
        }
    }

    /// <summary>A scanner that names its body by Content-Type alone, as HTTP has it: the format is not asked for again.</summary>
    [Theory]
    [InlineData("text/csv", HttpStatusCode.OK)]
    [InlineData("text/csv; charset=utf-8", HttpStatusCode.OK)]
    [InlineData("TEXT/CSV", HttpStatusCode.OK)]
    [InlineData("application/octet-stream", HttpStatusCode.BadRequest)]
    public async Task TheFormatMayBeLeftOutWhenTheContentTypeSaysIt(string contentType, HttpStatusCode expected)
    {
        var agent = await EnrollAsync("linux", "/srv");
        var staged = await StagedAsync();
        using var client = fixture.AgentClient(agent);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/scan-results?scanId={Guid.NewGuid()}&chunk=0")
        {
            Content = new StringContent("file_path,file_size,last_modified,last_accessed\n/srv/a.txt,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n"),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        var response = await client.SendAsync(request);

        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal(1, (await response.AssertJsonAsync(HttpStatusCode.OK)).GetProperty("rows").GetInt32());
        }
        else
        {
            var problem = await response.AssertProblemAsync(expected);
            Assert.True(problem.GetProperty("errors").TryGetProperty("format", out _));
            Assert.Equal(staged, await StagedAsync());
        }
    }

    [Fact]
    public async Task AnEncodingParameterThatContradictsTheHeaderIsRefused()
    {
        var agent = await EnrollAsync("linux", "/srv");
        var body = ChunkCompression.Compress(Encoding.UTF8.GetBytes("file_path,file_size,last_modified,last_accessed\n"), ChunkCompressionKind.Gzip);
        var problem = await (await SendAsync(agent, body, "encoding=zstd", contentEncoding: "gzip")).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("encoding", out _));
    }

    /// <summary>
    /// Times files really carry, far from today: a Windows time never set (1601), a bad clock's
    /// 2300, and the first and last instants of years 0001-9999 that the agent writes for a time
    /// beyond them. A narrower range once refused the whole chunk for one such file.
    /// </summary>
    [Fact]
    public async Task FileTimesFarFromTodayAreIngestedAsScannedAndSearchedBack()
    {
        var agent = await EnrollAsync("linux", "/srv/times");
        const string chunk = """
            file_path,file_size,last_modified,last_accessed,file_extension,permissions,owner,hash
            /srv/times/never-set.doc,10,1601-01-01T00:00:00Z,2300-01-01T00:00:00Z,.doc,rw-r--r--,ann,
            /srv/times/bounds.bin,20,0001-01-01T00:00:00Z,9999-12-31T23:59:59.9999999Z,.bin,rw-r--r--,ann,

            """;

        var receipt = await (await SendAsync(agent, Encoding.UTF8.GetBytes(chunk), "encoding=none&final=true&root=%2Fsrv%2Ftimes"))
            .AssertJsonAsync(HttpStatusCode.OK);

        Assert.Equal(2, receipt.GetProperty("rows").GetInt32());
        await WaitForAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{agent.HostId}'", 2);
        Assert.Equal("bounds.bin -62135596800 253402300799|never-set.doc -11644473600 10413792000", await fixture.Database.ScalarAsync<string>(
            $"SELECT string_agg(name || ' ' || mtime_unix || ' ' || atime_unix, '|' ORDER BY name) FROM alto.file_current WHERE host_id = '{agent.HostId}'"));
        using var admin = fixture.ClientFor("platform-admin");
        var found = await (await admin.GetAsync($"/api/v1/tenants/{agent.TenantId}/inventory/search?hostId={agent.HostId}&path=%2Fsrv%2Ftimes%2Fnever-set.doc"))
            .AssertJsonAsync(HttpStatusCode.OK);
        var file = Assert.Single(found.GetProperty("items").EnumerateArray());
        Assert.Equal(new DateTimeOffset(1601, 1, 1, 0, 0, 0, TimeSpan.Zero), file.GetProperty("modifiedAt").GetDateTimeOffset());
        Assert.Equal(new DateTimeOffset(2300, 1, 1, 0, 0, 0, TimeSpan.Zero), file.GetProperty("accessedAt").GetDateTimeOffset());
    }

    /// <summary>
    /// The seed's chunk as tools Alto shares no code with write it (tests/fixtures): Parquet from
    /// DuckDB with every column as text or in the narrowest types and from Arrow's Rust writer with
    /// dictionary pages, CSV from DuckDB's and PostgreSQL's COPY with their "2025-01-15 10:30:00+00"
    /// times and as Windows PowerShell's Export-Csv writes it (a #TYPE line, every field quoted). Sent through the real gateway, each lands in the inventory as the seed's CSV does.
    /// </summary>
    [Theory]
    [InlineData("parquet", "duckdb-all-text.parquet")]
    [InlineData("parquet", "duckdb-narrow-types.parquet")]
    [InlineData("parquet", "arrow-rs-dictionary-zstd.parquet")]
    [InlineData("csv", "duckdb-copy.csv")]
    [InlineData("csv", "postgresql-copy.csv")]
    [InlineData("csv", "powershell-5.1-export-csv.csv")]
    public async Task TheSeedsChunkAsOtherToolsWriteItLandsAsItsCsvDoes(string format, string fixtureName)
    {
        var agent = await EnrollAsync("windows", @"C:\Data");
        var chunk = await File.ReadAllBytesAsync(RepositoryPaths.Fixture(format, fixtureName));

        var receipt = await (await SendAsync(agent, chunk, "encoding=none&final=true&root=" + Uri.EscapeDataString(@"C:\Data"), format: format))
            .AssertJsonAsync(HttpStatusCode.OK);

        Assert.Equal(2, receipt.GetProperty("rows").GetInt32());
        await WaitForAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{agent.HostId}'", 2);
        Assert.Equal(
            @"C:\Data\docs\report.pdf pdf DOMAIN\user1 sha256:abc123... 5242880 1736937000 1760970120|"
            + @"C:\Data\images\photo.jpg jpg DOMAIN\user2 sha256:def456... 2097152 1730448900 1761382800",
            await fixture.Database.ScalarAsync<string>($"""
                SELECT string_agg(concat_ws(' ', full_path, file_extension, owner, file_hash, size_bytes, mtime_unix, atime_unix), '|' ORDER BY full_path)
                FROM alto.file_current WHERE host_id = '{agent.HostId}'
                """));
    }

    /// <summary>
    /// Windows PowerShell 5.1's Export-Csv, told no encoding, writes ASCII: every letter outside
    /// ASCII becomes '?', which Windows allows in no name. Such a list is refused whole, naming the
    /// row and telling the admin how to export it again, rather than storing paths that name no file.
    /// </summary>
    [Fact]
    public async Task AWindowsListExportedAsAsciiIsRefusedSayingHowToExportItAndNothingIsStaged()
    {
        var agent = await EnrollAsync("windows", @"C:\Data");
        var before = await StagedAsync();
        var chunk = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("csv", "powershell-5.1-export-csv-ascii.csv"));

        var problem = await (await SendAsync(agent, chunk, "encoding=none&final=true&root=" + Uri.EscapeDataString(@"C:\Data")))
            .AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(("file_path", 2), (problem.GetProperty("column").GetString(), problem.GetProperty("row").GetInt32()));
        var detail = problem.GetProperty("detail").GetString();
        Assert.Contains(@"'C:\Data\Donn?es\r?sum?.pdf' holds a '?', which Windows does not allow in a name", detail, StringComparison.Ordinal);
        Assert.Contains("Export-Csv writes ASCII unless given -Encoding UTF8", detail, StringComparison.Ordinal);
        Assert.Equal(before, await StagedAsync());
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{agent.HostId}'"));
    }

    [Fact]
    public async Task AParquetChunkWithASizeInWordsIsRefusedNamingTheRowAndNothingIsStaged()
    {
        var agent = await EnrollAsync("windows", @"C:\Data");
        var before = await StagedAsync();
        var chunk = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("parquet", "refused-size-as-words.parquet"));

        var problem = await (await SendAsync(agent, chunk, "encoding=none&final=true", format: "parquet")).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(("file_size", 1), (problem.GetProperty("column").GetString(), problem.GetProperty("row").GetInt32()));
        Assert.Contains("'5 MB' is not a whole number", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await StagedAsync());
    }

    /// <summary>
    /// A complete scan that sees nothing below a root where files were (what a volume that was not
    /// mounted looks like) marks them gone, as it says, and says so: an audit entry naming the root,
    /// a warning. A scan that sees some of them, and one of a root that was already empty, do not.
    /// </summary>
    [Fact]
    public async Task AScanThatFindsARootEmptyWhereFilesWereSaysSo()
    {
        var agent = await EnrollAsync("linux", "/srv");
        const string header = "file_path,file_size,last_modified,last_accessed\n";
        const string two = header + "/srv/share/a.txt,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n/srv/share/b.txt,2,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n";
        var live = $"SELECT count(*) FROM alto.file_current WHERE host_id = '{agent.HostId}' AND deleted_utc IS NULL";
        var emptied = $"SELECT count(*) FROM alto.audit_log WHERE host_id = '{agent.HostId}' AND action = 'scan.root_emptied'";
        var completed = $"SELECT count(*) FROM alto.scan WHERE host_id = '{agent.HostId}' AND status = 'completed'";

        await (await SendAsync(agent, Encoding.UTF8.GetBytes(two), "encoding=none&final=true&root=%2Fsrv%2Fshare")).AssertJsonAsync(HttpStatusCode.OK);
        await WaitForAsync(live, 2);
        // One of the two gone: an ordinary deletion.
        await (await SendAsync(agent, Encoding.UTF8.GetBytes(header + "/srv/share/a.txt,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n"),
            "encoding=none&final=true&root=%2Fsrv%2Fshare")).AssertJsonAsync(HttpStatusCode.OK);
        await WaitForAsync(live, 1);
        Assert.Equal(0, await fixture.Database.CountAsync(emptied));

        // Nothing at all below the root.
        await (await SendAsync(agent, Encoding.UTF8.GetBytes(header), "encoding=none&final=true&root=%2Fsrv%2Fshare")).AssertJsonAsync(HttpStatusCode.OK);
        await WaitForAsync(live, 0);
        await WaitForAsync(emptied, 1);
        Assert.Equal("/srv/share 1", await fixture.Database.ScalarAsync<string>(
            $"SELECT details->>'root' || ' ' || (details->>'filesGone') FROM alto.audit_log WHERE host_id = '{agent.HostId}' AND action = 'scan.root_emptied'"));

        // Still empty: no news.
        await (await SendAsync(agent, Encoding.UTF8.GetBytes(header), "encoding=none&final=true&root=%2Fsrv%2Fshare")).AssertJsonAsync(HttpStatusCode.OK);
        await WaitForAsync(completed, 4);
        Assert.Equal(1, await fixture.Database.CountAsync(emptied));
    }

    private Task<EnrolledHost> EnrollAsync(string os, string volume) =>
        fixture.EnrollHostAsync(fixture.TenantA, new { name = "seed-" + Guid.NewGuid().ToString("N")[..10], os, volumes = new[] { volume } });

    private Task<HttpResponseMessage> SendAsync(EnrolledHost agent, byte[] body, string query, Guid? scanId = null, string? contentEncoding = null, string format = "csv") =>
        SendAsync(agent, new ByteArrayContent(body), query, scanId, contentEncoding, format);

    private async Task<HttpResponseMessage> SendAsync(
        EnrolledHost agent, HttpContent body, string query, Guid? scanId = null, string? contentEncoding = null, string format = "csv")
    {
        using var client = fixture.AgentClient(agent);
        var request = new HttpRequestMessage(HttpMethod.Post,
            $"/api/v1/scan-results?scanId={scanId ?? Guid.NewGuid()}&chunk=0&format={format}{(query.Length > 0 ? "&" + query : "")}")
        {
            Content = body,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(format == "csv" ? "text/csv" : Apis.ScanResultsApi.ParquetMediaType);
        if (contentEncoding is not null)
        {
            request.Content.Headers.ContentEncoding.Add(contentEncoding);
        }
        return await client.SendAsync(request);
    }

    private async Task<string> StagedAsync() => string.Join(",",
        await fixture.Database.CountAsync("SELECT count(*) FROM scan_staging.raw_scans"),
        await fixture.Database.CountAsync("SELECT count(*) FROM scan_staging.chunk"));

    private async Task WaitForAsync(string countSql, long expected)
    {
        var deadline = DateTime.UtcNow + Patience;
        long last;
        while ((last = await fixture.Database.CountAsync(countSql)) != expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{countSql} gave {last}, not {expected}");
            await Task.Delay(100);
        }
    }
}
