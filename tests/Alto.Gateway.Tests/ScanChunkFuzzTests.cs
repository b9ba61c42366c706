using System.Net;
using System.Reflection;
using System.Net.Http.Headers;
using System.Text;
using Alto.Scanning;
using Alto.TestSupport;

namespace Alto.Gateway.Tests;

/// <summary>
/// Scan chunks — the agent's CSV, and the seed's chunk as Parquet from other writers — broken at random — bytes changed, cut, repeated or put in, as a disk, a network or a
/// third-party scanner might — sent through the real gateway as whole scans. Each is taken or
/// refused with 4xx; one refused stages nothing, and one taken is ingested: its scan completes. A
/// chunk that passes the checks and then fails in the ingest (or a 500) means some input was not
/// validated. The random source is seeded, so a failure names the case that shows it again.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ScanChunkFuzzTests(GatewayFixture fixture)
{
    /// <summary>The agent's columns with rows of every kind it writes: quoted names with commas and quotes, non-ASCII, a stub, an escaped name, the seed's hash.</summary>
    private const string Chunk = """
        file_path,file_size,last_modified,last_accessed,file_extension,permissions,owner,hash,ctime,file_id,is_stub,path_encoding
        /srv/docs/report.pdf,5242880,2025-01-15T10:30:00Z,2025-10-20T14:22:00Z,.pdf,rw-r--r--,user1,sha256:abc123...,2025-01-15T10:30:00Z,1001,false,utf8
        "/srv/docs/a, b ""quoted"".txt",12,2024-11-01T08:15:00Z,2025-10-25T09:00:00Z,.txt,rw-r-----,user2,,2024-11-01T08:15:00Z,1002,false,utf8
        /srv/images/fotografía-ñ.jpg,2097152,2024-11-01T08:15:00.123Z,2025-10-25T09:00:00+02:00,.jpg,rw-r--r--,user2,,,1003,false,utf8
        /srv/cold/archive.tar,1073741824,2019-03-02T00:00:00Z,2019-03-02T00:00:00Z,.tar,rw-------,root,,,1004,true,utf8
        /srv/odd/caf\xe9.txt,3,2023-05-05T05:05:05Z,2023-05-05T05:05:05Z,.txt,rw-r--r--,user3,,,1005,false,escaped
        /srv/empty,0,2022-02-02T02:02:02Z,2022-02-02T02:02:02Z,,rw-r--r--,user1,,,1006,false,utf8

        """;

    private static readonly byte[][] Interesting =
    [
        "\""u8.ToArray(), ","u8.ToArray(), "\r\n"u8.ToArray(), "\n"u8.ToArray(), [0], [0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80],
        "99999999999999999999"u8.ToArray(), "-"u8.ToArray(), "1e9"u8.ToArray(), "/.."u8.ToArray(), "//"u8.ToArray(), "\\"u8.ToArray(),
        "\"\"\""u8.ToArray(), " "u8.ToArray(), "T"u8.ToArray(), ":"u8.ToArray(), "9999-12-31T23:59:59Z"u8.ToArray(), "0001-01-01T00:00:00Z"u8.ToArray(),
        "\\x"u8.ToArray(), "\\xZZ"u8.ToArray(), "true"u8.ToArray(), "NaN"u8.ToArray(), "+00:00"u8.ToArray(), Encoding.UTF8.GetBytes(new string('x', 5000)),
    ];

    /// <summary>
    /// Each chunk by its format and what it is — for CSV, how it is compressed (the compressed bytes
    /// are broken); for Parquet, the fixture — with how many cases, and how many at least are taken.
    /// </summary>
    public static TheoryData<string, string, int, int> Chunks() => new()
    {
        { "csv", "none", 1000, 20 },
        // Compressed, a break is caught by the frame's checksum: every case may be refused.
        { "csv", "zstd", 300, 0 },
        { "csv", "gzip", 300, 0 },
        // The seed's chunk as other writers put it in Parquet, on a Windows host (its paths are the seed's).
        { "parquet", "arrow-rs-dictionary-zstd.parquet", 300, 6 },
        { "parquet", "duckdb-typed.parquet", 300, 6 },
        { "parquet", "duckdb-narrow-types.parquet", 300, 6 },
    };

    [Theory]
    [MemberData(nameof(Chunks))]
    public async Task ABrokenChunkIsRefusedWithoutATraceOrTakenAndIngested(string format, string chunkName, int cases, int takenAtLeast)
    {
        var windows = format == "parquet";
        var agent = await fixture.EnrollHostAsync(fixture.TenantA,
            new { name = "fuzz-" + Guid.NewGuid().ToString("N")[..10], os = windows ? "windows" : "linux", volumes = new[] { windows ? @"C:\Data" : "/srv" } });
        var sound = windows
            ? await File.ReadAllBytesAsync(RepositoryPaths.Fixture("parquet", chunkName))
            : ChunkCompression.Compress(Encoding.UTF8.GetBytes(Chunk.Replace("\n", "\r\n", StringComparison.Ordinal)), Compression(chunkName));
        var upload = (Guid scanId, byte[] chunk) => UploadAsync(agent, scanId, chunk, format, windows ? @"C:\Data" : "/srv", windows ? "none" : chunkName);
        Assert.Equal(HttpStatusCode.OK, (await upload(Guid.NewGuid(), sound)).StatusCode);

        var random = new Random(20261207 + cases);
        var faults = new List<string>();
        var taken = new List<(int Case, Guid ScanId)>();
        for (var i = 0; i < cases; i++)
        {
            var chunk = ByteDamage.Mangle(sound, random, Interesting);
            var scanId = Guid.NewGuid();
            using var response = await upload(scanId, chunk);
            var status = (int)response.StatusCode;
            if (status >= 500)
            {
                faults.Add($"case {i}: {status} {await response.Content.ReadAsStringAsync()}");
            }
            else if (response.IsSuccessStatusCode)
            {
                taken.Add((i, scanId));
            }
            else if (await fixture.Database.CountAsync($"""
                         SELECT (SELECT count(*) FROM alto.scan WHERE scan_uid = '{scanId}' AND chunk_count > 0)
                              + (SELECT count(*) FROM scan_staging.raw_scans r JOIN alto.scan s ON s.id = r.scan_id WHERE s.scan_uid = '{scanId}')
                         """) > 0)
            {
                faults.Add($"case {i}: refused with {status}, but something of it was staged");
            }
        }

        // Every scan taken is ingested, in turn: none fails after the checks let it through.
        var deadline = DateTime.UtcNow.AddMinutes(3);
        foreach (var (i, scanId) in taken)
        {
            string? state;
            while ((state = await fixture.Database.ScalarAsync<string?>($"SELECT status || coalesce(': ' || last_error, '') FROM alto.scan WHERE scan_uid = '{scanId}'")) is null
                   or "queued" or "ingesting" or "receiving")
            {
                Assert.True(DateTime.UtcNow < deadline, $"case {i}: its scan is still {state ?? "(not there)"}");
                await Task.Delay(50);
            }
            if (state != "completed")
            {
                faults.Add($"case {i}: taken, then its scan is {state}");
            }
        }

        // Both ways are taken: the cases are broken enough to be refused, and (where no checksum stops them) not all so broken that nothing gets through.
        Assert.InRange(taken.Count, takenAtLeast, cases * 9 / 10);
        Assert.True(faults.Count == 0, string.Join("\n", faults));
    }

    /// <summary>
    /// Bytes that Parquet.Net alone reads for ever, holding one of the gateway's CPUs per request: a
    /// footer cut off in the middle of a number (written here by the Thrift compact protocol: field
    /// 3 of FileMetaData, num_rows, an i64 whose varint says "more follows" at the last byte), and
    /// a page header read past the end of the file (the fuzz test's find, see the fixtures'
    /// README). Each is refused at once, saying why.
    /// </summary>
    [Theory]
    [InlineData("footer", "its footer is damaged")]
    [InlineData("page header", "row group 0 of the Parquet file is not readable")]
    public async Task AParquetChunkCutOffInTheMiddleOfANumberIsRefusedAtOnce(string cut, string expected)
    {
        var agent = await fixture.EnrollHostAsync(fixture.TenantA, new { name = "fuzz-" + Guid.NewGuid().ToString("N")[..10], os = "windows", volumes = new[] { @"C:\Data" } });
        byte[] chunk = cut == "footer"
            ? [.. "PAR1"u8, 0x36, 0xFF, 2, 0, 0, 0, .. "PAR1"u8]
            : await File.ReadAllBytesAsync(RepositoryPaths.Fixture("parquet", "damaged-page-header-past-end.parquet"));

        var answer = UploadAsync(agent, Guid.NewGuid(), chunk, "parquet", @"C:\Data");
        Assert.True(await Task.WhenAny(answer, Task.Delay(TimeSpan.FromSeconds(30))) == answer, "no answer in 30 s: the chunk is still being read");

        var problem = await (await answer).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A chunk of three rows whose footer says its row group holds a billion and a half (the seed's
    /// Parquet with its footer written again by Parquet.Net's own Thrift writer): before, arrays were
    /// made for that many rows before the pages showed otherwise, and the kernel killed the gateway
    /// for the memory (23 GB resident here). It is too large for a chunk, and refused so before
    /// anything is read.
    /// </summary>
    [Fact]
    public async Task AParquetChunkWhoseRowGroupSaysItHoldsMoreRowsThanAChunkMayIsTooLarge()
    {
        var agent = await fixture.EnrollHostAsync(fixture.TenantA, new { name = "fuzz-" + Guid.NewGuid().ToString("N")[..10], os = "windows", volumes = new[] { @"C:\Data" } });
        var file = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("parquet", "duckdb-typed.parquet"));
        var footerLength = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(file.Length - 8));
        var library = typeof(Parquet.ParquetReader).Assembly;
        var protocolReader = library.GetType("Parquet.Meta.Proto.ThriftCompactProtocolReader", throwOnError: true)!;
        var protocolWriter = library.GetType("Parquet.Meta.Proto.ThriftCompactProtocolWriter", throwOnError: true)!;
        var footer = (Parquet.Meta.FileMetaData)typeof(Parquet.Meta.FileMetaData).GetMethod("Read", BindingFlags.NonPublic | BindingFlags.Static, [protocolReader])!
            .Invoke(null, [Activator.CreateInstance(protocolReader, new MemoryStream(file, file.Length - 8 - footerLength, footerLength))])!;
        (footer.NumRows, footer.RowGroups[0].NumRows) = (1_500_000_000, 1_500_000_000);
        using var written = new MemoryStream();
        typeof(Parquet.Meta.FileMetaData).GetMethod("Write", BindingFlags.NonPublic | BindingFlags.Instance, [protocolWriter])!
            .Invoke(footer, [Activator.CreateInstance(protocolWriter, written)]);
        var length = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(length, (int)written.Length);
        byte[] chunk = [.. file.AsSpan(0, file.Length - 8 - footerLength), .. written.ToArray(), .. length, .. "PAR1"u8];

        var problem = await (await UploadAsync(agent, Guid.NewGuid(), chunk, "parquet", @"C:\Data")).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("more than 1000000 rows (its row group 0 says it holds 1500000000)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private static ChunkCompressionKind Compression(string name) =>
        ChunkCompression.TryParse(name, out var kind) ? kind : throw new ArgumentOutOfRangeException(nameof(name), name, null);

    private async Task<HttpResponseMessage> UploadAsync(EnrolledHost agent, Guid scanId, byte[] chunk, string format, string root, string encoding = "none")
    {
        using var client = fixture.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post,
            $"/api/v1/scan-results?scanId={scanId}&chunk=0&final=true&format={format}&encoding={encoding}&root={Uri.EscapeDataString(root)}")
        {
            Content = new ByteArrayContent(chunk),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(format == "csv" ? Apis.ScanResultsApi.CsvMediaType : Apis.ScanResultsApi.ParquetMediaType);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", agent.Credential);
        return await client.SendAsync(request);
    }
}
