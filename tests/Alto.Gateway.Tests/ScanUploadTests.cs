using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
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

    private sealed record Agent(Guid HostId, Guid TenantId, string Credential);

    private async Task<Agent> EnrollAsync(Guid? tenant = null)
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenantId = tenant ?? fixture.TenantA;
        var registered = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/hosts",
            new { name = "upload-" + Guid.NewGuid().ToString("N")[..10] })).AssertJsonAsync(HttpStatusCode.Created);
        using var anonymous = fixture.CreateClient();
        var enrolled = await (await anonymous.PostAsJsonAsync("/api/v1/agents/enroll",
            new { token = registered.GetProperty("enrollmentToken").GetString() })).AssertJsonAsync(HttpStatusCode.OK);
        return new Agent(enrolled.GetProperty("hostId").GetGuid(), tenantId, enrolled.GetProperty("credential").GetString()!);
    }

    private Task<HttpResponseMessage> UploadAsync(
        Agent agent, string csv, ChunkCompressionKind compression, string contentType = "text/csv", Guid? scanId = null) =>
        UploadBytesAsync(agent, ChunkCompression.Compress(Encoding.UTF8.GetBytes(csv), compression), compression, contentType, scanId);

    private async Task<HttpResponseMessage> UploadBytesAsync(
        Agent agent, byte[] body, ChunkCompressionKind compression, string contentType = "text/csv", Guid? scanId = null)
    {
        using var client = fixture.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Post,
            $"/api/v1/scan-results?scanId={scanId ?? Guid.NewGuid()}&chunk=0&final=false&format=csv&encoding={ChunkCompression.Name(compression)}" +
            $"&hostId={agent.HostId}&tenantId={agent.TenantId}")
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
