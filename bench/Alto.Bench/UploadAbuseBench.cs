using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net.Http.Headers;
using Alto.Agent.Enrollment;
using Alto.Agent.Scanning;
using Alto.Scanning;
using Alto.TestSupport;
using ZstdSharp;

namespace Alto.Bench;

/// <summary>
/// Compression bombs against a real gateway process on its defaults, in two rounds: six zstd and
/// three gzip bombs (each 2 GiB once decompressed, behind a valid header: zeros in the first
/// round, valid rows that run to the decompression limit in the second) sent at once from three
/// hosts, while a fourth host uploads normal chunks through the agent's own uploader. Figures:
/// the gateway's resident memory before, at its peak (sampled every 20 ms) and after, what each
/// bomb was answered, and whether every normal chunk landed.
/// </summary>
public static class UploadAbuseBench
{
    private const long BombBytes = 2L << 30;
    private const int NormalChunks = 20;
    private const int RowsPerChunk = 1000;

    public static async Task<Dictionary<string, object>> RunAsync()
    {
        await using var database = await TestDatabase.CreateAsync("bench_upload_abuse");
        await using var gateway = await GatewayProcess.StartAsync(database, "bench", new Dictionary<string, string>(), TimeSpan.FromSeconds(120));
        using var admin = await AdminApi.SignInAsync(gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenant = await admin.CreateTenantAsync("abuse");
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        var figures = new Dictionary<string, object> { ["bench"] = "upload-abuse" };
        // Zeros stop at the first "record" (no line ends); valid rows run all the way to the decompression limit.
        foreach (var (name, filler) in new[] { ("zeros", new byte[1 << 20]), ("rows", Rows(1 << 20)) })
        {
            var zstdBomb = Bomb(output => new CompressionStream(output, 3), filler);
            var gzipBomb = Bomb(output => new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true), filler);
            await Console.Error.WriteLineAsync($"{name} bombs: zstd {zstdBomb.Length} bytes, gzip {gzipBomb.Length} bytes, each {BombBytes >> 20} MiB decompressed");
            var hosts = new List<AgentCredentials>();
            for (var i = 0; i < 4; i++)
            {
                var (_, token) = await admin.RegisterHostAsync(tenant, $"{name}-host-{i}", "/srv");
                hosts.Add(await new EnrollmentClient(http).EnrollAsync(gateway.HttpUrl, gateway.GrpcUrl, token, CancellationToken.None));
            }
            var round = await RoundAsync(http, gateway, database, hosts, zstdBomb, gzipBomb);
            round["bombs"] = $"6 zstd ({zstdBomb.Length} bytes) + 3 gzip ({gzipBomb.Length} bytes), each 2 GiB of {name} once decompressed, sent at once from 3 hosts";
            figures[name] = round;
        }
        var rounds = figures.Values.OfType<Dictionary<string, object>>().ToList();
        figures["gateway_rss_growth_mb"] = rounds.Max(round => (long)round["gateway_rss_growth_mb"]);
        figures["all_normal_landed"] = rounds.All(round => (bool)round["all_normal_landed"]);
        figures["goal"] = "gateway_rss_growth_mb <= 256, all_normal_landed";
        return figures;
    }

    private static async Task<Dictionary<string, object>> RoundAsync(
        HttpClient http, GatewayProcess gateway, TestDatabase database, List<AgentCredentials> hosts, byte[] zstdBomb, byte[] gzipBomb)
    {
        var normal = hosts[3];
        var sink = new UploadSink(http, normal.Gateway, normal.Credential, normal.HostId, normal.TenantId, ["/srv"]);
        var scanId = Guid.NewGuid();
        // Warm up: one normal chunk, then settle, before the baseline is read.
        await sink.SendAsync(NormalChunk(scanId, 0), CancellationToken.None);
        GC.Collect();
        await Task.Delay(2000);
        var baseline = Rss(gateway.Run.ProcessId);

        using var sampling = new CancellationTokenSource();
        var peak = baseline;
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, Rss(gateway.Run.ProcessId));
                await Task.Delay(20, CancellationToken.None);
            }
        });
        var clock = Stopwatch.StartNew();
        var bombs = Enumerable.Range(0, 9).Select(i => SendBombAsync(http, hosts[i % 3], i < 6 ? zstdBomb : gzipBomb, i < 6 ? "zstd" : "gzip")).ToList();
        var normalsDone = Task.Run(async () =>
        {
            var took = new List<double>();
            for (var chunk = 1; chunk <= NormalChunks; chunk++)
            {
                var one = Stopwatch.StartNew();
                await sink.SendAsync(NormalChunk(scanId, chunk), CancellationToken.None);
                took.Add(one.Elapsed.TotalMilliseconds);
            }
            return took;
        });
        var answers = await Task.WhenAll(bombs);
        var bombSeconds = clock.Elapsed.TotalSeconds;
        var normalTimes = await normalsDone;
        await Task.Delay(500);
        await sampling.CancelAsync();
        await sampler;
        // Memory given back: the resident size a few seconds after the attack.
        await Task.Delay(5000);
        var after = Rss(gateway.Run.ProcessId);

        var landed = await database.CountAsync($"SELECT count(*) FROM scan_staging.raw_scans WHERE host_id = '{normal.HostId}'");
        var bombRows = await database.CountAsync(
            $"SELECT count(*) FROM scan_staging.raw_scans WHERE host_id IN ('{hosts[0].HostId}', '{hosts[1].HostId}', '{hosts[2].HostId}')");
        return new Dictionary<string, object>
        {
            ["bomb_answers"] = answers.GroupBy(code => code).OrderBy(group => group.Key).ToDictionary(group => group.Key.ToString(CultureInfo.InvariantCulture), group => group.Count()),
            ["bomb_rows_staged"] = bombRows,
            ["bombs_answered_s"] = Math.Round(bombSeconds, 2),
            ["normal_chunks"] = NormalChunks + 1,
            ["normal_rows_landed"] = landed,
            ["all_normal_landed"] = landed == (NormalChunks + 1) * RowsPerChunk,
            ["normal_chunk_max_ms"] = Math.Round(normalTimes.Max()),
            ["gateway_rss_baseline_mb"] = baseline >> 20,
            ["gateway_rss_peak_mb"] = peak >> 20,
            ["gateway_rss_growth_mb"] = (peak - baseline) >> 20,
            ["gateway_rss_after_mb"] = after >> 20,
        };
    }

    /// <summary>About <paramref name="bytes"/> of one valid row repeated.</summary>
    private static byte[] Rows(int bytes)
    {
        var row = "/srv/bomb/a-file-name-of-some-length.dat,123456,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n"u8.ToArray();
        return [.. Enumerable.Repeat(row, bytes / row.Length).SelectMany(line => line)];
    }

    /// <summary>A header, then <see cref="BombBytes"/> of the filler repeated, compressed as tightly as the format allows.</summary>
    private static byte[] Bomb(Func<Stream, Stream> compressor, byte[] filler)
    {
        var output = new MemoryStream();
        using (var compressing = compressor(output))
        {
            compressing.Write("file_path,file_size,last_modified,last_accessed\n"u8);
            for (long written = 0; written < BombBytes; written += filler.Length)
            {
                compressing.Write(filler);
            }
        }
        return output.ToArray();
    }

    private static async Task<int> SendBombAsync(HttpClient http, AgentCredentials host, byte[] bomb, string encoding)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post,
            new Uri(host.Gateway, $"/api/v1/scan-results?scanId={Guid.NewGuid()}&chunk=0&format=csv&encoding={encoding}"))
        {
            Content = new ByteArrayContent(bomb),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.Credential);
        using var response = await http.SendAsync(request);
        return (int)response.StatusCode;
    }

    private static ScanChunk NormalChunk(Guid scanId, int number)
    {
        var rows = new System.Text.StringBuilder("file_path,file_size,last_modified,last_accessed\n");
        for (var i = 0; i < RowsPerChunk; i++)
        {
            rows.Append(CultureInfo.InvariantCulture, $"/srv/normal/{number}/file-{i}.dat,{i},2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n");
        }
        return new ScanChunk(scanId, number, number == NormalChunks, RowsPerChunk,
            ChunkCompression.Compress(System.Text.Encoding.UTF8.GetBytes(rows.ToString()), ChunkCompressionKind.Zstd), "csv", ChunkCompressionKind.Zstd);
    }

    private static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }
}
