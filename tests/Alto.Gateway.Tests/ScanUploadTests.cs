using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Alto.Scanning;

namespace Alto.Gateway.Tests;

/// <summary>
/// POST /api/v1/scan-results refuses every kind of bad upload with a problem-details answer and
/// leaves staging and inventory exactly as they were.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ScanUploadTests(GatewayFixture fixture)
{
    private const string Header = "file_path,file_size,last_modified,last_accessed,file_extension,permissions,owner,hash,ctime,file_id,is_stub,path_encoding\r\n";
    private const string GoodRow = "/srv/a.txt,10,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.txt,rw-r--r--,root,,,1,false,utf8\r\n";

    [Theory]
    [InlineData("/srv/a.txt,10,2025-01-15T10:30:00Z\r\n", 1, null)]
    [InlineData("\"/srv/a.txt,10,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.txt,rw-r--r--,root,,,1,false,utf8\r\n", 1, "file_path")]
    [InlineData("/srv/a.txt,10,15/01/2025,2025-01-15T10:30:00Z,.txt,rw-r--r--,root,,,1,false,utf8\r\n", 1, "last_modified")]
    [InlineData("/srv/a.txt,-10,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.txt,rw-r--r--,root,,,1,false,utf8\r\n", 1, "file_size")]
    [InlineData("/srv/a.txt,ten,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.txt,rw-r--r--,root,,,1,false,utf8\r\n", 1, "file_size")]
    [InlineData("/srv/home/../secret/a.txt,10,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.txt,rw-r--r--,root,,,1,false,utf8\r\n", 1, "file_path")]
    public async Task MalformedCsvIsRefusedNamingTheFirstBadRowAndColumn(string badRow, int row, string? column)
    {
        var agent = await EnrollAsync();
        var before = await CountAsync();

        // A good row first: the whole chunk is refused, not just the bad row.
        var response = await UploadAsync(agent, Header + GoodRow + badRow, ChunkCompressionKind.Zstd);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(row + 1, problem.GetProperty("row").GetInt64());
        Assert.Equal(column, problem.GetProperty("column").GetString());
        Assert.Equal(before, await CountAsync());
    }

    /// <summary>The agent's thirteenth column, the link count: one of no names, or past its range, refuses the chunk and stages nothing.</summary>
    [Theory]
    [InlineData("0")]
    [InlineData("4294967297")]
    public async Task ALinkCountOutsideItsRangeIsRefusedNamingTheColumn(string links)
    {
        var agent = await EnrollAsync();
        var before = await CountAsync();

        var response = await UploadAsync(agent, Header.Replace("\r\n", ",links\r\n", StringComparison.Ordinal)
            + GoodRow.Replace("\r\n", ",3\r\n", StringComparison.Ordinal) + GoodRow.Replace("\r\n", $",{links}\r\n", StringComparison.Ordinal),
            ChunkCompressionKind.None);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal((2L, "links"), (problem.GetProperty("row").GetInt64(), problem.GetProperty("column").GetString()));
        Assert.Equal(before, await CountAsync());
    }

    [Fact]
    public async Task AWrongContentTypeIsRefused()
    {
        var agent = await EnrollAsync();
        var before = await CountAsync();
        var response = await UploadAsync(agent, Header + GoodRow, ChunkCompressionKind.None, contentType: "application/json");
        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(before, await CountAsync());
    }

    [Theory]
    [InlineData(ChunkCompressionKind.Zstd)]
    [InlineData(ChunkCompressionKind.Gzip)]
    public async Task ATruncatedCompressedBodyIsRefused(ChunkCompressionKind compression)
    {
        var agent = await EnrollAsync();
        var before = await CountAsync();
        var body = ChunkCompression.Compress(Encoding.UTF8.GetBytes(Header + string.Concat(Enumerable.Repeat(GoodRow, 2000))), compression);

        var response = await UploadBytesAsync(agent, body[..(body.Length / 2)], compression);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(before, await CountAsync());
    }

    [Fact]
    public async Task ADecompressionBombIsRefusedWithoutUnpackingIt()
    {
        var agent = await EnrollAsync();
        var before = await CountAsync();
        // 64 MiB of valid rows in a few kilobytes, against an 8 MiB decompression limit: refused at the limit.
        var rows = new StringBuilder(Header);
        while (rows.Length < 64 << 20)
        {
            rows.Append(GoodRow);
        }
        var bomb = ChunkCompression.Compress(Encoding.UTF8.GetBytes(rows.ToString()), ChunkCompressionKind.Zstd);

        var response = await UploadBytesAsync(agent, bomb, ChunkCompressionKind.Zstd);

        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(before, await CountAsync());
    }

    [Fact]
    public async Task ABombOfZerosIsRefusedAtItsFirstRecord()
    {
        var agent = await EnrollAsync();
        var before = await CountAsync();
        // 64 MiB of zeros: no line ends, so the first "record" outgrows any real one long before the limit.
        var bomb = ChunkCompression.Compress(new byte[64 << 20], ChunkCompressionKind.Zstd);

        var problem = await (await UploadBytesAsync(agent, bomb, ChunkCompressionKind.Zstd)).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains("longer than", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await CountAsync());
    }

    [Fact]
    public async Task AnOversizeBodyIsRefused()
    {
        var agent = await EnrollAsync();
        var before = await CountAsync();
        var response = await UploadBytesAsync(agent, new byte[5 << 20], ChunkCompressionKind.None);
        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(before, await CountAsync());
    }

    [Fact]
    public async Task MissingInvalidAndForeignCredentialsAreUnauthorized()
    {
        var agent = await EnrollAsync();
        var otherTenantAgent = await EnrollAsync(fixture.TenantB);
        var before = await CountAsync();
        var body = Header + GoodRow;

        Assert.Equal(HttpStatusCode.Unauthorized, (await UploadAsync(agent with { Credential = "" }, body, ChunkCompressionKind.None)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await UploadAsync(agent with { Credential = agent.Credential[..^3] + "abc" }, body, ChunkCompressionKind.None)).StatusCode);
        // A valid credential used for another host of another tenant.
        var foreign = agent with { Credential = otherTenantAgent.Credential };
        await (await UploadAsync(foreign, body, ChunkCompressionKind.None)).AssertProblemAsync(HttpStatusCode.Unauthorized);
        // A user's bearer token is not an agent credential.
        Assert.Equal(HttpStatusCode.Unauthorized, (await UploadAsync(agent with { Credential = fixture.Tokens["platform-admin"] }, body, ChunkCompressionKind.None)).StatusCode);

        Assert.Equal(before, await CountAsync());
    }

    [Fact]
    public async Task AResentChunkIsStoredOnce()
    {
        var agent = await EnrollAsync();
        var scanId = Guid.NewGuid();
        var body = Header + GoodRow;

        var first = await (await UploadAsync(agent, body, ChunkCompressionKind.Zstd, scanId: scanId)).AssertJsonAsync(HttpStatusCode.OK);
        var staged = await CountAsync();
        var again = await (await UploadAsync(agent, body, ChunkCompressionKind.Zstd, scanId: scanId)).AssertJsonAsync(HttpStatusCode.OK);

        Assert.Equal("stored", first.GetProperty("outcome").GetString());
        Assert.Equal("duplicate", again.GetProperty("outcome").GetString());
        Assert.Equal(staged, await CountAsync());
    }

    [Fact]
    public async Task APathSentTwiceKeepsItsLastRowWithinAChunkAndAcrossChunks()
    {
        var agent = await EnrollAsync();
        var scanId = Guid.NewGuid();
        // Paths that differ only in case or accent are files of their own, however they sort.
        var first = Header + Row("/srv/twice.txt", 1) + Row("/srv/Twice.txt", 2) + Row("/srv/in-one.txt", 3) + Row("/srv/é.txt", 4)
                    + Row("/srv/in-one.txt", 5) + Row("/srv/e.txt", 6);
        await (await UploadAsync(agent, first, ChunkCompressionKind.None, scanId: scanId)).AssertJsonAsync(HttpStatusCode.OK);
        await (await UploadAsync(agent, Header + Row("/srv/twice.txt", 7), ChunkCompressionKind.None, scanId: scanId, final: true, chunk: 1))
            .AssertJsonAsync(HttpStatusCode.OK);

        await WaitForMergeAsync(scanId);
        var inventory = await fixture.Database.ScalarAsync<string>(
            $"SELECT string_agg(full_path || '=' || size_bytes, ' ' ORDER BY full_path COLLATE \"C\") FROM alto.file_current WHERE host_id = '{agent.HostId}'");
        Assert.Equal("/srv/Twice.txt=2 /srv/e.txt=6 /srv/in-one.txt=5 /srv/twice.txt=7 /srv/é.txt=4", inventory);

        static string Row(string path, int size) =>
            $"{path},{size},2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.txt,rw-r--r--,root,,,{size},false,utf8\r\n";
    }

    [Fact]
    public async Task TwoChunksOfOneScanAreCopiedSideBySide()
    {
        var agent = await EnrollAsync();
        var scanId = Guid.NewGuid();
        var rows = Rows("/srv/side-" + Guid.NewGuid().ToString("N"), 2_000);
        await using var hold = await CopyHold.StartAsync(fixture.Database, agent.TenantId, rows.HeldPath);
        var first = UploadAsync(agent, rows.Csv, ChunkCompressionKind.None, scanId: scanId, chunk: 0);
        await hold.WaitUntilHeldAsync(first);

        // The final chunk goes in while chunk 0 is still being copied: the scan's lock is not held through a copy.
        var second = UploadAsync(agent, Header + GoodRow, ChunkCompressionKind.None, scanId: scanId, final: true, chunk: 1);
        var finished = await Task.WhenAny(second, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(finished == second, "the second chunk waited for the first one's copy to end");
        var secondReceipt = await (await second).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("stored", secondReceipt.GetProperty("outcome").GetString());
        Assert.False(secondReceipt.GetProperty("ingestQueued").GetBoolean());

        await hold.ReleaseAsync();
        var firstReceipt = await (await first).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("stored", firstReceipt.GetProperty("outcome").GetString());
        Assert.True(firstReceipt.GetProperty("ingestQueued").GetBoolean(), "the last chunk in completes the scan, whichever number it has");
        await WaitForMergeAsync(scanId);
        Assert.Equal(2_001, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{agent.HostId}'"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AChunkNumberSentTwiceAtOnceIsStoredOnce(bool sameContent)
    {
        var agent = await EnrollAsync();
        var scanId = Guid.NewGuid();
        var folder = "/srv/twice-" + Guid.NewGuid().ToString("N");
        var rows = Rows(folder + "/held", 2_000);
        await using var hold = await CopyHold.StartAsync(fixture.Database, agent.TenantId, rows.HeldPath);
        var first = UploadAsync(agent, rows.Csv, ChunkCompressionKind.None, scanId: scanId, chunk: 0);
        await hold.WaitUntilHeldAsync(first);

        // The same number again, sent whole while the first is still being copied: it is stored first.
        var again = sameContent ? rows.Csv : Rows(folder + "/other", 2_000).Csv;
        var second = await (await UploadAsync(agent, again, ChunkCompressionKind.None, scanId: scanId, chunk: 0)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("stored", second.GetProperty("outcome").GetString());

        await hold.ReleaseAsync();
        var late = await first;
        if (sameContent)
        {
            Assert.Equal("duplicate", (await late.AssertJsonAsync(HttpStatusCode.OK)).GetProperty("outcome").GetString());
        }
        else
        {
            await late.AssertProblemAsync(HttpStatusCode.Conflict);
        }
        var staged = await fixture.Database.ScalarAsync<string>(
            $"SELECT count(*) || ' ' || min(file_path) FROM scan_staging.raw_scans r JOIN alto.scan s ON s.id = r.scan_id WHERE s.scan_uid = '{scanId}'");
        Assert.Equal($"2000 {folder}/{(sameContent ? "held" : "other")}/00000.txt", staged);
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM scan_staging.chunk c JOIN alto.scan s ON s.id = c.scan_id WHERE s.scan_uid = '{scanId}'"));
    }

    /// <summary>A chunk of <paramref name="count"/> files in a folder, and the path of its middle one.</summary>
    private static (string Csv, string HeldPath) Rows(string folder, int count) => (
        Header + string.Concat(Enumerable.Range(0, count).Select(i =>
            $"{folder}/{i:D5}.txt,{i},2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.txt,rw-r--r--,root,,,{i},false,utf8\r\n")),
        $"{folder}/{count / 2:D5}.txt");

    private async Task WaitForMergeAsync(Guid scanId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE scan_uid = '{scanId}'") != "completed")
        {
            Assert.True(DateTime.UtcNow < deadline, "the scan was not merged within a minute");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task BadQueryParametersAreRefused()
    {
        var agent = await EnrollAsync();
        var before = await CountAsync();
        using var client = fixture.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/scan-results?chunk=-1&format=xml&encoding=lzma")
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Header)),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", agent.Credential);
        var problem = await (await client.SendAsync(request)).AssertProblemAsync(HttpStatusCode.BadRequest);
        foreach (var field in new[] { "scanId", "chunk", "format", "encoding" })
        {
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), field);
        }
        Assert.Equal(before, await CountAsync());
    }

    public static TheoryData<string, string> BadUnchangedParts => new()
    {
        { """{"folders":["/srv/a"]}""", "baseScanId" },
        { $$"""{"baseScanId":"{{Guid.NewGuid()}}","folders":[]}""", "folders" },
        { $$"""{"baseScanId":"{{Guid.NewGuid()}}"}""", "folders" },
        { $$"""{"baseScanId":"{{Guid.NewGuid()}}","folders":["srv/a"]}""", "folders[0]" },
        { $$"""{"baseScanId":"{{Guid.NewGuid()}}","folders":["/srv/ok","C:\\data"]}""", "folders[1]" },
        { $$"""{"baseScanId":"{{Guid.NewGuid()}}","folders":[""]}""", "folders[0]" },
        { $$"""{"baseScanId":"{{Guid.NewGuid()}}","folders":["/{{new string('a', ScanColumns.MaxPathLength)}}"]}""", "folders[0]" },
        { $$"""{"baseScanId":"{{Guid.NewGuid()}}","folders":[null]}""", "folders[0]" },
        // A NUL ends a path in the kernel: the name is no folder's (and PostgreSQL could not store it: 500 before).
        { $$"""{"baseScanId":"{{Guid.NewGuid()}}","folders":["/srv/a\u0000b"]}""", "folders[0]" },
        { $$"""{"baseScanId":"{{Guid.NewGuid()}}","folders":[{{string.Join(",", Enumerable.Range(0, 10_001).Select(i => $"\"/srv/{i}\""))}}]}""", "folders" },
    };

    [Theory]
    [MemberData(nameof(BadUnchangedParts))]
    public async Task UnchangedFoldersAreRefusedUnlessEachIsACanonicalPathOfTheHost(string body, string field)
    {
        var agent = await EnrollAsync();
        var before = await UnchangedCountAsync();

        var problem = await (await PostUnchangedAsync(agent, Guid.NewGuid(), 0, body)).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        Assert.Equal(before, await UnchangedCountAsync());
    }

    [Fact]
    public async Task UnchangedFoldersNameOneBaseAndComeBeforeTheFinalChunk()
    {
        var agent = await EnrollAsync();
        var scanId = Guid.NewGuid();
        var baseScan = Guid.NewGuid();
        var part = $$"""{"baseScanId":"{{baseScan}}","folders":["/srv/a","/srv/b"]}""";

        var stored = await (await PostUnchangedAsync(agent, scanId, 0, part)).AssertJsonAsync(HttpStatusCode.OK);
        var again = await (await PostUnchangedAsync(agent, scanId, 0, part)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(("stored", 2), (stored.GetProperty("outcome").GetString(), stored.GetProperty("folders").GetInt32()));
        Assert.Equal("duplicate", again.GetProperty("outcome").GetString());
        var before = await UnchangedCountAsync();
        // Other folders under a part number already stored, and another base scan, contradict the scan.
        await (await PostUnchangedAsync(agent, scanId, 0, $$"""{"baseScanId":"{{baseScan}}","folders":["/srv/c"]}""")).AssertProblemAsync(HttpStatusCode.Conflict);
        await (await PostUnchangedAsync(agent, scanId, 1, $$"""{"baseScanId":"{{Guid.NewGuid()}}","folders":["/srv/c"]}""")).AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal(before, await UnchangedCountAsync());
        Assert.Equal(("incremental", 2L), (await fixture.Database.ScalarAsync<string>($"SELECT kind FROM alto.scan WHERE scan_uid = '{scanId}'"),
            await fixture.Database.CountAsync($"SELECT folders_unchanged FROM alto.scan WHERE scan_uid = '{scanId}'")));

        // The final chunk must say how many folders were named, and the count must be what arrived: a lost part would read as folders gone.
        await (await UploadAsync(agent, Header + GoodRow, ChunkCompressionKind.None, scanId: scanId, final: true)).AssertProblemAsync(HttpStatusCode.Conflict);
        await (await UploadAsync(agent, Header + GoodRow, ChunkCompressionKind.None, scanId: scanId, final: true, unchanged: 3)).AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("receiving", await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE scan_uid = '{scanId}'"));
        // Once the final chunk is in, the scan takes no more folders.
        await (await UploadAsync(agent, Header + GoodRow, ChunkCompressionKind.None, scanId: scanId, final: true, unchanged: 2)).AssertJsonAsync(HttpStatusCode.OK);
        await (await PostUnchangedAsync(agent, scanId, 1, $$"""{"baseScanId":"{{baseScan}}","folders":["/srv/c"]}""")).AssertProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task UnchangedFoldersAndTheLastScanNeedTheHostsOwnCredential()
    {
        var agent = await EnrollAsync();
        var otherTenantAgent = await EnrollAsync(fixture.TenantB);
        var before = await UnchangedCountAsync();
        var part = $$"""{"baseScanId":"{{Guid.NewGuid()}}","folders":["/srv/a"]}""";

        Assert.Equal(HttpStatusCode.Unauthorized, (await PostUnchangedAsync(agent with { Credential = "" }, Guid.NewGuid(), 0, part)).StatusCode);
        // Ids in the query that are not the credential's own host and tenant.
        await (await PostUnchangedAsync(agent with { Credential = otherTenantAgent.Credential }, Guid.NewGuid(), 0, part)).AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(before, await UnchangedCountAsync());

        using var client = fixture.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/scan-results/last")).StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/scan-results/last");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", agent.Credential);
        var last = await (await client.SendAsync(request)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.False(last.TryGetProperty("scanId", out var scan) && scan.ValueKind != System.Text.Json.JsonValueKind.Null, last.ToString());
        using var foreign = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/scan-results/last?hostId={agent.HostId}&tenantId={agent.TenantId}");
        foreign.Headers.Authorization = new AuthenticationHeaderValue("Bearer", otherTenantAgent.Credential);
        await (await client.SendAsync(foreign)).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    private async Task<HttpResponseMessage> PostUnchangedAsync(EnrolledHost agent, Guid scanId, int part, string json)
    {
        using var client = fixture.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Post,
            $"/api/v1/scan-results/unchanged?scanId={scanId}&part={part}&hostId={agent.HostId}&tenantId={agent.TenantId}")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", agent.Credential);
        return await client.SendAsync(request);
    }

    private async Task<string> UnchangedCountAsync() => string.Join(",",
        await fixture.Database.CountAsync("SELECT count(*) FROM scan_staging.unchanged_part"),
        await fixture.Database.CountAsync("SELECT count(*) FROM alto.scan WHERE kind = 'incremental'"));

    private Task<EnrolledHost> EnrollAsync(Guid? tenant = null) =>
        fixture.EnrollHostAsync(tenant ?? fixture.TenantA, new { name = "upload-" + Guid.NewGuid().ToString("N")[..10] });

    private Task<HttpResponseMessage> UploadAsync(
        EnrolledHost agent, string csv, ChunkCompressionKind compression, string contentType = "text/csv", Guid? scanId = null, bool final = false, int? unchanged = null,
        int chunk = 0) =>
        UploadBytesAsync(agent, ChunkCompression.Compress(Encoding.UTF8.GetBytes(csv), compression), compression, contentType, scanId, final, unchanged, chunk);

    private async Task<HttpResponseMessage> UploadBytesAsync(
        EnrolledHost agent, byte[] body, ChunkCompressionKind compression, string contentType = "text/csv", Guid? scanId = null, bool final = false,
        int? unchanged = null, int chunk = 0)
    {
        using var client = fixture.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Post,
            $"/api/v1/scan-results?scanId={scanId ?? Guid.NewGuid()}&chunk={chunk}&final={(final ? "true" : "false")}&format=csv&encoding={ChunkCompression.Name(compression)}" +
            $"&hostId={agent.HostId}&tenantId={agent.TenantId}{(unchanged is { } count ? $"&unchanged={count}" : "")}")
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", agent.Credential);
        return await client.SendAsync(request);
    }

    private async Task<string> CountAsync() => string.Join(",",
        await fixture.Database.CountAsync("SELECT count(*) FROM scan_staging.raw_scans"),
        await fixture.Database.CountAsync("SELECT count(*) FROM scan_staging.chunk"),
        await fixture.Database.CountAsync("SELECT count(*) FROM alto.file_current"),
        await fixture.Database.CountAsync("SELECT count(*) FROM alto.scan WHERE chunk_count > 0"));
}
