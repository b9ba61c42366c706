using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Alto.Agent.Enrollment;
using Alto.Agent.Scanning;
using Alto.Scanning;
using Alto.TestSupport;

namespace Alto.Agent.Tests;

/// <summary>
/// Bombs against a real gateway process over real sockets: a host's uploads beyond its share are
/// refused at once with Retry-After while its two bombs are still streaming in, another host's
/// chunk sent through the agent's own uploader lands meanwhile, and the bombs themselves end at
/// the decompression limit with nothing staged.
/// </summary>
public sealed class UploadLimitsTests : IAsyncLifetime
{
    private const string Header = "file_path,file_size,last_modified,last_accessed\n";
    private TestDatabase _database = null!;
    private GatewayProcess _gateway = null!;

    /// <summary>A gateway of its own, with an 8 MiB decompression limit so the bombs end soon.</summary>
    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync("upload_limits");
        _gateway = await GatewayProcess.StartAsync(_database, "upload-limits",
            new Dictionary<string, string> { ["Alto__ScanUpload__MaxDecompressedBytes"] = (8 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture) },
            TimeSpan.FromSeconds(90));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task BombsBeyondAHostsShareAreRefusedWhileAnotherHostsChunkLands()
    {
        var bomber = await AgentEnrollment.EnrollNewHostAsync(_gateway, "/srv");
        var neighbour = await AgentEnrollment.EnrollNewHostAsync(_gateway, "/srv");
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        using var bombing = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var release = new TaskCompletionSource();
        var held = Enumerable.Range(0, 2).Select(_ => OutcomeAsync(SendAsync(bombing, bomber, new HeldRows(release.Task)))).ToList();
        // Both bombs are inside the gateway, copying rows, when the third arrives.
        await WaitForAsync("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY scan_staging.raw_scans%'", 2);

        var rows = Encoding.UTF8.GetBytes(Header + "/srv/n.txt,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n");
        using var refused = await SendAsync(http, bomber, new ByteArrayContent(rows));
        var sink = new UploadSink(http, neighbour.Gateway, neighbour.Credential, neighbour.HostId, neighbour.TenantId, ["/srv"]);
        await sink.SendAsync(new ScanChunk(Guid.NewGuid(), 0, false, 1, rows, "csv", ChunkCompressionKind.None), CancellationToken.None);
        release.SetResult();

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero, "a refusal says when to come back");
        Assert.Equal(1, await _gateway.Database.CountAsync($"SELECT count(*) FROM scan_staging.raw_scans WHERE host_id = '{neighbour.HostId}'"));
        // Each bomb is answered 413 at the limit; the client may see the connection end first, as it is still sending.
        Assert.All(await Task.WhenAll(held), outcome => Assert.Contains(outcome, new[] { "413", "closed while sending" }));
        await WaitForAsync("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY scan_staging.raw_scans%'", 0, atMost: true);
        Assert.Equal(0, await _gateway.Database.CountAsync($"SELECT count(*) FROM scan_staging.raw_scans WHERE host_id = '{bomber.HostId}'"));
        Assert.Equal(0, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM scan_staging.chunk c JOIN alto.scan s ON s.id = c.scan_id WHERE s.host_id = '{bomber.HostId}'"));
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, AgentCredentials host, HttpContent body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post,
            new Uri(host.Gateway, $"/api/v1/scan-results?scanId={Guid.NewGuid()}&chunk=0&format=csv&encoding=none")) { Content = body };
        request.Content!.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.Credential);
        return await http.SendAsync(request);
    }

    private static async Task<string> OutcomeAsync(Task<HttpResponseMessage> sending)
    {
        try
        {
            using var response = await sending;
            return ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return "closed while sending";
        }
    }

    /// <summary>Waits until the count reaches <paramref name="expected"/> (or, <paramref name="atMost"/>, falls to it).</summary>
    private async Task WaitForAsync(string countSql, long expected, bool atMost = false)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        long last;
        while (atMost ? (last = await _gateway.Database.CountAsync(countSql)) > expected : (last = await _gateway.Database.CountAsync(countSql)) < expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{countSql} gave {last}, not {expected}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Valid rows (64 MiB, past the decompression limit): the first megabyte goes out at
    /// once, the rest waits for <paramref name="release"/> — an upload held in progress.
    /// </summary>
    private sealed class HeldRows(Task release) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var rows = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("/srv/bomb.txt,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n", 16_384)));
            await stream.WriteAsync(Encoding.UTF8.GetBytes(Header));
            try
            {
                for (var sent = 0L; sent < 64L << 20; sent += rows.Length)
                {
                    if (sent >= 1 << 20)
                    {
                        await release;
                    }
                    await stream.WriteAsync(rows);
                    await stream.FlushAsync();
                }
            }
            catch (Exception exception) when (exception is IOException or HttpRequestException or OperationCanceledException or ObjectDisposedException)
            {
                // The gateway answered 413 and closed the request: the rest of the bomb is not wanted.
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
