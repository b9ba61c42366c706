using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Alto.Agent.Enrollment;
using Alto.Agent.Scanning;
using Alto.Scanning;
using Alto.TestSupport;
using NpgsqlTypes;

namespace Alto.Bench;

/// <summary>
/// bench/run.sh NAME [--files N]: runs one benchmark and prints, as its last line, one JSON
/// object with Alto's rate next to a baseline's rate measured in the same run.
/// </summary>
public static class Program
{
    private static readonly JsonSerializerOptions ReadableJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The value after <paramref name="name"/> on the command line, or null.</summary>
    private static string? Option(string[] args, string name) =>
        args.Zip(args.Skip(1)).Where(pair => pair.First == name).Select(pair => pair.Second).FirstOrDefault();

    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 1)
        {
            await Console.Error.WriteLineAsync("usage: Alto.Bench scan|ingest|analytics|plan|tier|recall|recall-storm|restart-reads|audit|upload-abuse|job-cost|reconcile|scale [--files N] [--objects N] [--hosts N] [--disk memory]");
            return 2;
        }
        var files = 1_000_000;
        for (var i = 1; i < args.Length - 1; i++)
        {
            if (args[i] == "--files")
            {
                files = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            }
        }
        if (args[0] == "read-files" && OperatingSystem.IsLinux())
        {
            // The recall bench's reader: a separate process, so its opens are not the agent's own.
            return RecallBench.ReadFiles(await File.ReadAllLinesAsync(args[1]), args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1);
        }
        if (args[0] == "hash-files" && OperatingSystem.IsLinux())
        {
            // The restart bench's reader: a separate process whose opens wait on the agent (or its guard).
            return RestartReadsBench.HashFiles(await File.ReadAllLinesAsync(args[1]), int.Parse(args[2], CultureInfo.InvariantCulture));
        }
        if (args[0] == "recall-storm" && OperatingSystem.IsLinux())
        {
            Console.WriteLine(JsonSerializer.Serialize(await RecallStormBench.RunAsync(), ReadableJson));
            return 0;
        }
        if (args[0] == "restart-reads" && OperatingSystem.IsLinux())
        {
            Console.WriteLine(JsonSerializer.Serialize(await RestartReadsBench.RunAsync(), ReadableJson));
            return 0;
        }
        if (args[0] is "tier" or "recall" && OperatingSystem.IsLinux())
        {
            var figures = args[0] == "tier"
                ? await TierBench.RunAsync(Path.Combine(RepositoryPaths.Root, ".state", "bench"), onMemoryDisk: Option(args, "--disk") == "memory")
                : await RecallBench.RunAsync();
            Console.WriteLine(JsonSerializer.Serialize(figures, ReadableJson));
            return 0;
        }
        if (args[0] == "audit")
        {
            var benchFolder = Path.Combine(RepositoryPaths.Root, ".state", "bench");
            Directory.CreateDirectory(benchFolder);
            var figures = AuditBench.Run(benchFolder);
            foreach (var (name, value) in await AuditApplyBench.RunAsync())
            {
                figures[name] = value;
            }
            Console.WriteLine(JsonSerializer.Serialize(figures, ReadableJson));
            return 0;
        }
        if (args[0] == "upload-abuse")
        {
            Console.WriteLine(JsonSerializer.Serialize(await UploadAbuseBench.RunAsync(), ReadableJson));
            return 0;
        }
        if (args[0] == "job-cost" && OperatingSystem.IsLinux())
        {
            Console.WriteLine(JsonSerializer.Serialize(await JobCostBench.RunAsync(), ReadableJson));
            return 0;
        }
        if (args[0] == "reconcile" && OperatingSystem.IsLinux())
        {
            var objects = 1_000_000;
            for (var i = 1; i < args.Length - 1; i++)
            {
                if (args[i] == "--objects")
                {
                    objects = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                }
            }
            var benchFolder = Path.Combine(RepositoryPaths.Root, ".state", "bench");
            Console.WriteLine(JsonSerializer.Serialize(await ReconcileBench.RunAsync(benchFolder, objects), ReadableJson));
            return 0;
        }
        if (args[0] == "scale")
        {
            var hosts = 100;
            var filesPerHost = 100_000;
            for (var i = 1; i < args.Length - 1; i++)
            {
                (hosts, filesPerHost) = args[i] switch
                {
                    "--hosts" => (int.Parse(args[i + 1], CultureInfo.InvariantCulture), filesPerHost),
                    "--files" => (hosts, int.Parse(args[i + 1], CultureInfo.InvariantCulture)),
                    _ => (hosts, filesPerHost),
                };
            }
            Console.WriteLine(JsonSerializer.Serialize(await Scale.ScaleBench.RunAsync(hosts, filesPerHost), ReadableJson));
            return 0;
        }
        if (args[0] == "plan")
        {
            Console.WriteLine(JsonSerializer.Serialize(await PlanBench.RunAsync(files), ReadableJson));
            return 0;
        }
        var work = Path.Combine(RepositoryPaths.Root, ".state", "bench");
        Directory.CreateDirectory(work);
        var tree = TreeGenerator.Ensure(work, files);
        var result = args[0] switch
        {
            "scan" => await ScanAsync(work, tree, files),
            "ingest" => await IngestAsync(work, tree, files),
            "analytics" => await AnalyticsBench.RunAsync(work, tree, files),
            _ => throw new ArgumentException($"unknown benchmark '{args[0]}'"),
        };
        Console.WriteLine(JsonSerializer.Serialize(result, ReadableJson));
        return 0;
    }

    /// <summary>Alto's scan writing its chunks to disk, against find printing the same facts.</summary>
    private static async Task<Dictionary<string, object>> ScanAsync(string work, string tree, int files)
    {
        var agent = BenchAgent.Dll;
        var output = Path.Combine(work, "scan-chunks");
        string[] find = [tree, "-printf", "%p %s %T@ %A@\n"];
        await Measure.ProcessAsync("find", find, standardOutputTo: "null"); // warm the inode cache for both

        Measure.Run? bestFind = null;
        Measure.Run? bestAlto = null;
        for (var round = 0; round < 2; round++)
        {
            var baseline = await Measure.ProcessAsync("find", find, standardOutputTo: "null");
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
            var alto = await Measure.ProcessAsync("dotnet", [agent, "scan", tree, "--output", output, "--compress", "zstd"]);
            if (alto.ExitCode != 0)
            {
                throw new InvalidOperationException("alto-agent scan failed: " + alto.Output);
            }
            await Console.Error.WriteLineAsync($"round {round}: find {baseline.Elapsed.TotalSeconds:0.00} s, alto {alto.Elapsed.TotalSeconds:0.00} s, " +
                                    $"peak RSS {alto.PeakRssBytes >> 20} MiB; {alto.Output.Trim()}");
            bestFind = bestFind is null || baseline.Elapsed < bestFind.Elapsed ? baseline : bestFind;
            bestAlto = bestAlto is null || alto.Elapsed < bestAlto.Elapsed ? alto : bestAlto;
        }
        var altoRate = files / bestAlto!.Elapsed.TotalSeconds;
        var findRate = files / bestFind!.Elapsed.TotalSeconds;
        return new Dictionary<string, object>
        {
            ["bench"] = "scan",
            ["n"] = files,
            ["alto_per_s"] = Math.Round(altoRate),
            ["baseline"] = "find -printf '%p %s %T@ %A@'",
            ["baseline_per_s"] = Math.Round(findRate),
            ["ratio"] = Math.Round(altoRate / findRate, 3),
            ["peak_rss_mb"] = bestAlto.PeakRssBytes >> 20,
            ["goal"] = "ratio >= 1.0, peak_rss_mb <= 200",
        };
    }

    /// <summary>
    /// The tree's scan uploaded through the real endpoint of a real gateway into an empty
    /// inventory (first byte sent → rows in file_current), then the same scan again unchanged;
    /// baseline: binary COPY of the same rows into an unindexed table.
    /// </summary>
    private static async Task<Dictionary<string, object>> IngestAsync(string work, string tree, int files)
    {
        // The real agent scans twice with folder digests: in full, then again with nothing changed (incremental).
        var digests = Path.Combine(work, "ingest-digests.bin");
        File.Delete(digests);
        var chunkFiles = await ScanToChunksAsync(work, tree, "ingest-chunks", digests);
        var incrementalClock = Stopwatch.StartNew();
        var incrementalFiles = await ScanToChunksAsync(work, tree, "ingest-incremental-chunks", digests);
        var incrementalScan = incrementalClock.Elapsed;
        var unchanged = await UnchangedPartsAsync(Path.Combine(work, "ingest-incremental-chunks"));

        await using var bench = await BenchGateway.StartAsync("bench_ingest", tree);
        var (database, gateway, http, agent) = (bench.Database, bench.Gateway, bench.Http, bench.Agent);

        var first = await UploadAndWaitAsync(http, agent, database, chunkFiles, tree);
        var second = await UploadAndWaitAsync(http, agent, database, chunkFiles, tree);
        // The incremental rescan continues the last ingested scan: the gateway carries its unchanged folders over.
        var incremental = await UploadAndWaitAsync(http, agent, database, incrementalFiles, tree, (second.ScanId, unchanged));
        var incrementalRows = await database.CountAsync($"SELECT file_count FROM alto.scan WHERE scan_uid = '{incremental.ScanId}'");
        var live = await database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{agent.HostId}' AND deleted_utc IS NULL");
        if (live != files)
        {
            throw new InvalidOperationException($"inventory holds {live} files, expected {files}");
        }
        var copy = await RawCopyAsync(database, chunkFiles);
        foreach (var line in gateway.Run.Output.Split('\n').Where(line => line.Contains("Merged scan", StringComparison.Ordinal)))
        {
            await Console.Error.WriteLineAsync(line.Trim());
        }
        await Console.Error.WriteLineAsync(
            $"first ingest {first.Ingested.TotalSeconds:0.00} s (all chunks staged after {first.Uploaded.TotalSeconds:0.00} s), " +
            $"unchanged rescan {second.Ingested.TotalSeconds:0.00} s (staged after {second.Uploaded.TotalSeconds:0.00} s), " +
            $"incremental rescan {incremental.Ingested.TotalSeconds:0.00} s ({incrementalRows} rows, {unchanged.Sum(part => part.Length)} unchanged folders; " +
            $"its scan {incrementalScan.TotalSeconds:0.00} s), raw COPY {copy.TotalSeconds:0.00} s");

        var firstRate = files / first.Ingested.TotalSeconds;
        var copyRate = files / copy.TotalSeconds;
        return new Dictionary<string, object>
        {
            ["bench"] = "ingest",
            ["n"] = files,
            ["alto_per_s"] = Math.Round(firstRate),
            ["baseline"] = "binary COPY into an unindexed table",
            ["baseline_per_s"] = Math.Round(copyRate),
            ["ratio"] = Math.Round(firstRate / copyRate, 3),
            ["rescan_per_s"] = Math.Round(files / second.Ingested.TotalSeconds),
            ["staging_per_s"] = Math.Round(files / first.Uploaded.TotalSeconds),
            ["merge_s"] = Math.Round((first.Ingested - first.Uploaded).TotalSeconds, 2),
            ["rescan_merge_s"] = Math.Round((second.Ingested - second.Uploaded).TotalSeconds, 2),
            ["incremental_rescan_per_s"] = Math.Round(files / incremental.Ingested.TotalSeconds),
            ["incremental_rescan_s"] = Math.Round(incremental.Ingested.TotalSeconds, 3),
            ["incremental_rows_sent"] = incrementalRows,
            ["incremental_folders_unchanged"] = unchanged.Sum(part => part.Length),
            ["incremental_scan_s"] = Math.Round(incrementalScan.TotalSeconds, 2),
            ["goal"] = "first ingest >= 150000/s, unchanged rescan >= 300000/s",
        };
    }

    /// <summary>
    /// The real agent's scan of the tree, its chunks written to a folder of the bench's work
    /// (emptied first), in order; with <paramref name="digests"/>, incremental after the scan they hold.
    /// </summary>
    internal static async Task<string[]> ScanToChunksAsync(string work, string tree, string folder, string? digests = null)
    {
        var agentDll = BenchAgent.Dll;
        var chunksDir = Path.Combine(work, folder);
        if (Directory.Exists(chunksDir))
        {
            Directory.Delete(chunksDir, recursive: true);
        }
        string[] arguments = [agentDll, "scan", tree, "--output", chunksDir, "--compress", "zstd", .. digests is null ? Array.Empty<string>() : ["--digests", digests]];
        var scan = await Measure.ProcessAsync("dotnet", arguments);
        if (scan.ExitCode != 0)
        {
            throw new InvalidOperationException("scan failed: " + scan.Output);
        }
        return Directory.GetFiles(chunksDir, "chunk-*").Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The unchanged folders an incremental scan wrote beside its chunks, part by part.</summary>
    private static async Task<List<string[]>> UnchangedPartsAsync(string chunksDir)
    {
        var parts = new List<string[]>();
        foreach (var file in Directory.GetFiles(chunksDir, "unchanged-*.json").Order(StringComparer.Ordinal))
        {
            using var part = JsonDocument.Parse(await File.ReadAllBytesAsync(file));
            parts.Add([.. part.RootElement.GetProperty("folders").EnumerateArray().Select(folder => folder.GetString()!)]);
        }
        return parts;
    }

    /// <summary>Uploads a scan's chunks (after the unchanged folders of an incremental one, continuing <c>Base</c>) and waits for its ingest.</summary>
    internal static async Task<(TimeSpan Uploaded, TimeSpan Ingested, Guid ScanId)> UploadAndWaitAsync(
        HttpClient http, AgentCredentials agent, TestDatabase database, string[] chunkFiles, string tree,
        (Guid Base, List<string[]> Parts)? unchanged = null)
    {
        var scanId = Guid.NewGuid();
        var sink = new UploadSink(http, agent.Gateway, agent.Credential, agent.HostId, agent.TenantId, [tree]);
        var clock = Stopwatch.StartNew();
        for (var part = 0; part < (unchanged?.Parts.Count ?? 0); part++)
        {
            await sink.SendUnchangedAsync(new UnchangedFolders(scanId, unchanged!.Value.Base, part, unchanged.Value.Parts[part]), CancellationToken.None);
        }
        // As the agent sends them: two at a time (UploadWindow), the final chunk after all others.
        using (var uploads = new UploadWindow())
        {
            for (var i = 0; i < chunkFiles.Length - 1; i++)
            {
                var chunk = new ScanChunk(scanId, i, false, 0, await File.ReadAllBytesAsync(chunkFiles[i]), "csv", ChunkCompressionKind.Zstd);
                await uploads.StartAsync(() => sink.SendAsync(chunk, CancellationToken.None));
            }
            await uploads.DrainAsync();
        }
        await sink.SendAsync(new ScanChunk(scanId, chunkFiles.Length - 1, true, 0, await File.ReadAllBytesAsync(chunkFiles[^1]), "csv", ChunkCompressionKind.Zstd)
        {
            UnchangedFolders = unchanged is { } named ? named.Parts.Sum(part => part.Length) : null,
        }, CancellationToken.None);
        var uploaded = clock.Elapsed;
        while (await database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE scan_uid = '{scanId}'") is var status && status != "completed")
        {
            if (status == "failed")
            {
                throw new InvalidOperationException("the ingest failed");
            }
            await Task.Delay(20);
        }
        return (uploaded, clock.Elapsed, scanId);
    }

    private static async Task<TimeSpan> RawCopyAsync(TestDatabase database, string[] chunkFiles)
    {
        var rows = new List<ScanRecord>();
        foreach (var file in chunkFiles)
        {
            await using var input = File.OpenRead(file);
            using var plain = await ChunkCompression.DecompressAsync(input, ChunkCompressionKind.Zstd, 1L << 31, CancellationToken.None);
            rows.AddRange(await CsvScanReader.ReadAllAsync(plain.ToArray()));
        }
        await database.ExecuteAsync("""
            CREATE TABLE bench_raw_copy (file_path text, file_size bigint, last_modified timestamptz, last_accessed timestamptz,
                                         file_extension text, permissions text, owner text, file_id bigint)
            """);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var clock = Stopwatch.StartNew();
        await using (var copy = await connection.BeginBinaryImportAsync(
            "COPY bench_raw_copy (file_path, file_size, last_modified, last_accessed, file_extension, permissions, owner, file_id) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var row in rows)
            {
                await copy.StartRowAsync();
                await copy.WriteAsync(row.FilePath, NpgsqlDbType.Text);
                await copy.WriteAsync(row.FileSize, NpgsqlDbType.Bigint);
                await copy.WriteAsync(row.LastModified, NpgsqlDbType.TimestampTz);
                await copy.WriteAsync(row.LastAccessed, NpgsqlDbType.TimestampTz);
                await copy.WriteAsync(row.FileExtension, NpgsqlDbType.Text);
                await copy.WriteAsync(row.Permissions, NpgsqlDbType.Text);
                await copy.WriteAsync(row.Owner, NpgsqlDbType.Text);
                await copy.WriteAsync(row.FileId, NpgsqlDbType.Bigint);
            }
            await copy.CompleteAsync();
        }
        return clock.Elapsed;
    }
}
