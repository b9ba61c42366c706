using System.CommandLine;
using Alto.Agent.Connection;
using Alto.Agent.Enrollment;
using Alto.Agent.Scanning;
using Alto.Scanning;

namespace Alto.Agent.Cli;

/// <summary>
/// <c>alto-agent scan [PATH...]</c>: walks the given paths (or this host's registered volumes),
/// and uploads the metadata in compressed CSV or Parquet chunks as it goes.
/// </summary>
public static class ScanCommand
{
    public static Command Create()
    {
        var paths = AgentOptions.NoEmptyPath(new Argument<string[]>("path") { Description = "Folders to scan (default: the host's registered volumes)", Arity = ArgumentArity.ZeroOrMore });
        var format = new Option<string>("--format") { Description = "Chunk format", DefaultValueFactory = _ => "csv" };
        format.AcceptOnlyFromAmong("csv", "parquet");
        var compress = new Option<string>("--compress") { Description = "Chunk compression", DefaultValueFactory = _ => "zstd" };
        compress.AcceptOnlyFromAmong("zstd", "gzip", "none");
        var dryRun = new Option<bool>("--dry-run") { Description = "Walk and count, upload nothing" };
        var output = new Option<string?>("--output") { Description = "Write the chunks to this folder instead of uploading" };
        var batchRows = new Option<int>("--batch-rows") { Description = "Rows per chunk", DefaultValueFactory = _ => 50_000 };
        batchRows.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 1_000_000)
            {
                result.AddError("--batch-rows must be between 1 and 1000000");
            }
        });
        var workers = new Option<int>("--workers") { Description = "Parallel directory readers", DefaultValueFactory = _ => Math.Max(2, Environment.ProcessorCount) };
        workers.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 256)
            {
                result.AddError("--workers must be between 1 and 256");
            }
        });
        var crossMounts = new Option<bool>("--cross-mounts") { Description = "Descend into other file systems mounted below a scanned folder" };
        var full = new Option<bool>("--full") { Description = "Send every folder, changed or not (the folder digests are still recorded for the next scan)" };
        var digestsFile = new Option<string?>("--digests")
        {
            Description = $"Folder digests of the last scan, read and then replaced: folders unchanged since are named, not sent (default when uploading: {FolderDigests.FileName} in the state folder; with --output, only if given)",
        };
        var stateDirectory = AgentOptions.StateDirectory();

        var command = new Command("scan", "Scan file metadata and upload it to the gateway")
        {
            paths, format, compress, dryRun, output, batchRows, workers, crossMounts, full, digestsFile, stateDirectory,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!OperatingSystem.IsLinux() && !OperatingSystem.IsWindows())
            {
                await Console.Error.WriteLineAsync("alto-agent scan: the agent scans Linux and Windows file systems only");
                return 2;
            }
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
            AgentCredentials? credentials;
            try
            {
                credentials = await AgentCredentials.LoadAsync(parse.GetValue(stateDirectory)!, cancellationToken);
            }
            catch (InvalidDataException exception)
            {
                await Console.Error.WriteLineAsync($"alto-agent scan: {exception.Message}");
                return 2;
            }
            var roots = parse.GetValue(paths) ?? [];
            try
            {
                if (roots.Length == 0)
                {
                    if (credentials is null)
                    {
                        await Console.Error.WriteLineAsync("alto-agent scan: give the folders to scan, or enroll first to scan the host's registered volumes");
                        return 2;
                    }
                    roots = (await new GatewayClient(http, credentials).GetOwnHostAsync(cancellationToken)).Volumes;
                    if (roots.Length == 0)
                    {
                        await Console.Error.WriteLineAsync("alto-agent scan: this host has no registered volumes; give the folders to scan");
                        return 2;
                    }
                }

                var fullRoots = roots.Select(Path.GetFullPath).ToArray();
                // Uploading, the digests continue the gateway's last ingested scan of this host; written to a folder, whatever scan they are of.
                var uploading = !parse.GetValue(dryRun) && parse.GetValue(output) is null && credentials is not null;
                var digestsPath = parse.GetValue(digestsFile) ?? (uploading ? Path.Combine(parse.GetValue(stateDirectory)!, FolderDigests.FileName) : null);
                var digests = digestsPath is null ? null : await FolderDigests.ForScanAsync(digestsPath, parse.GetValue(full), FolderDigests.ThisHost,
                    async () => uploading ? await new GatewayClient(http, credentials!).GetLastScanAsync(cancellationToken) : FolderDigests.Load(digestsPath)?.ScanId);
                IChunkSink sink;
                if (parse.GetValue(dryRun))
                {
                    sink = new NullSink();
                }
                else if (parse.GetValue(output) is { } folder)
                {
                    sink = new DirectorySink(folder);
                }
                else if (credentials is not null)
                {
                    sink = new UploadSink(http, credentials.Gateway, credentials.Credential, credentials.HostId, credentials.TenantId, fullRoots);
                }
                else
                {
                    await Console.Error.WriteLineAsync("alto-agent scan: not enrolled (run alto-agent enroll), and neither --dry-run nor --output given");
                    return 2;
                }

                _ = ChunkCompression.TryParse(parse.GetValue(compress), out var compression); // AcceptOnlyFromAmong checked it
                var settings = new ScanSettings(
                    fullRoots, parse.GetValue(format)!, compression,
                    parse.GetValue(batchRows), parse.GetValue(workers), parse.GetValue(crossMounts), digests);
                var counters = new ScanCounters();
                ScanResult result;
                var progress = new ScanProgress(counters, Console.Out, interactive: !Console.IsOutputRedirected);
                await using (progress)
                {
                    progress.Start();
                    result = await new ScanRunner(sink).RunAsync(settings, counters, cancellationToken);
                }
                if (digests is not null && digestsPath is not null && !parse.GetValue(dryRun))
                {
                    FolderDigests.Save(digestsPath, digests.After(result.ScanId, fullRoots));
                }
                var unchanged = digests?.BaseScanId is { } baseScan ? $"; {result.FoldersUnchanged} folder(s) unchanged since scan {baseScan} named, not sent" : "";
                Console.WriteLine($"scan {result.ScanId}: {counters} in {result.Chunks} chunk(s){unchanged}, {progress.Elapsed.TotalSeconds:0.0} s");
                return 0;
            }
            catch (Exception exception) when (exception is UploadException or EnrollmentException or DirectoryNotFoundException or HttpRequestException)
            {
                await Console.Error.WriteLineAsync($"alto-agent scan: {exception.Message}");
                return 1;
            }
        });
        return command;
    }
}
