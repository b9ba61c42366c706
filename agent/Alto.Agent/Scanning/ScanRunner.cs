using System.Threading.Channels;
using Alto.Scanning;

namespace Alto.Agent.Scanning;

/// <summary>
/// How to scan; with <c>Digests</c>, a full scan records folder digests and an incremental one (with a base scan) leaves unchanged folders out;
/// with <c>RootRefusal</c>, each root is judged again once opened, by the path the open reached (<see cref="WalkOptions.RootRefusal"/>).
/// </summary>
public sealed record ScanSettings(
    IReadOnlyList<string> Roots, string Format, ChunkCompressionKind Compression, int BatchRows, int Workers, bool CrossMounts,
    FolderDigests? Digests = null, Func<string, string?>? RootRefusal = null);

/// <summary>What a scan sent; <c>FoldersUnchanged</c>: folders an incremental scan named instead of sending, their digest unchanged.</summary>
public sealed record ScanResult(Guid ScanId, int Chunks, long Rows, int FoldersUnchanged = 0);

/// <summary>
/// One scan as a pipeline of three stages joined by bounded channels: the tree walker, the
/// chunk builder (rows → CSV/Parquet → compressed), and the sink (upload, <see cref="UploadWindow.Limit"/>
/// chunks at a time, the final one after all others are in). A slow upload slows
/// the walk instead of growing memory; a failure in any stage stops the others. An incremental
/// scan names its unchanged folders (in parts, before the final chunk, which starts the ingest).
/// </summary>
public sealed class ScanRunner(IChunkSink sink, Func<WalkOptions, ScanCounters, ITreeWalker>? walkers = null)
{
    public async Task<ScanResult> RunAsync(ScanSettings settings, ScanCounters counters, CancellationToken cancellationToken)
    {
        var scanId = Guid.NewGuid();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Batches of up to 256 rows (a folder's, or part of a large one's): about 2,000 rows in flight, as before.
        var rows = Channel.CreateBounded<ScanRecord[]>(new BoundedChannelOptions(8) { SingleReader = true });
        var chunks = Channel.CreateBounded<ScanChunk>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });

        var walker = (walkers ?? TreeWalkers.ForThisHost)(new WalkOptions(settings.Workers, settings.CrossMounts, settings.Digests) { RootRefusal = settings.RootRefusal }, counters);
        var build = BuildChunksAsync(scanId, settings, rows.Reader, chunks.Writer, failed.Token);
        Task walk;
        try
        {
            walk = walker.WalkAsync(settings.Roots, rows.Writer, failed.Token);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // A root refused before the walk began (unreadable, or outside the volumes): the stages
            // after it stop too, instead of waiting for the agent's lifetime on rows that never come.
            rows.Writer.TryComplete(exception);
            walk = Task.FromException(exception);
        }
        Task[] stages =
        [
            StopOthersOnFailureAsync(walk, failed),
            StopOthersOnFailureAsync(build, failed),
            StopOthersOnFailureAsync(SendChunksAsync(chunks.Reader, settings.Digests, failed.Token), failed),
        ];
        try
        {
            await Task.WhenAll(stages);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A stage failed and cancelled the others: report that stage's error, not the cancellation.
            var cause = stages.Select(stage => stage.Exception?.GetBaseException())
                .FirstOrDefault(error => error is not null and not OperationCanceledException);
            if (cause is null)
            {
                throw;
            }
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(cause).Throw();
        }
        var built = await build;
        return new ScanResult(scanId, built.Chunks, built.Rows, settings.Digests?.BaseScanId is null ? 0 : settings.Digests.Unchanged.Count);
    }

    private static async Task StopOthersOnFailureAsync(Task stage, CancellationTokenSource failed)
    {
        try
        {
            await stage;
        }
        catch
        {
            await failed.CancelAsync();
            throw;
        }
    }

    private sealed record BuildResult(int Chunks, long Rows);

    private static async Task<BuildResult> BuildChunksAsync(
        Guid scanId, ScanSettings settings, ChannelReader<ScanRecord[]> rows, ChannelWriter<ScanChunk> chunks, CancellationToken cancellationToken)
    {
        using var text = new MemoryStream();
        var batch = ChunkBatch.Create(settings, text);
        var number = 0;
        long total = 0;
        try
        {
            await foreach (var some in rows.ReadAllAsync(cancellationToken))
            {
                foreach (var row in some)
                {
                    batch.Add(row);
                    if (batch.Count >= settings.BatchRows)
                    {
                        total += batch.Count;
                        var chunk = await batch.CompleteAsync(scanId, number++, false, cancellationToken);
                        batch.Dispose();
                        batch = ChunkBatch.Create(settings, text);
                        await chunks.WriteAsync(chunk, cancellationToken);
                    }
                }
            }
            // The final chunk carries the remainder, possibly no rows at all: it tells the gateway the scan is complete.
            total += batch.Count;
            await chunks.WriteAsync(await batch.CompleteAsync(scanId, number++, true, cancellationToken), cancellationToken);
            batch.Dispose();
            chunks.TryComplete();
            return new BuildResult(number, total);
        }
        catch (Exception exception)
        {
            batch.Dispose();
            chunks.TryComplete(exception);
            throw;
        }
    }

    private async Task SendChunksAsync(ChannelReader<ScanChunk> chunks, FolderDigests? digests, CancellationToken cancellationToken)
    {
        using var uploads = new UploadWindow();
        await foreach (var chunk in chunks.ReadAllAsync(cancellationToken))
        {
            if (!chunk.IsFinal)
            {
                await uploads.StartAsync(() => sink.SendAsync(chunk, cancellationToken));
                continue;
            }
            // The final chunk tells the gateway the scan is complete: every other chunk is in first.
            await uploads.DrainAsync();
            await SendFinalAsync(chunk, digests, cancellationToken);
        }
    }

    private async Task SendFinalAsync(ScanChunk chunk, FolderDigests? digests, CancellationToken cancellationToken)
    {
        // The final chunk is built once the walk is over: every unchanged folder is known by then.
        if (digests?.BaseScanId is not { } baseScanId)
        {
            await sink.SendAsync(chunk, cancellationToken);
            return;
        }
        var unchanged = digests.Unchanged.ToArray();
        for (int start = 0, part = 0; start < unchanged.Length; start += UnchangedFolders.MaxPerPart, part++)
        {
            var folders = unchanged.AsMemory(start, Math.Min(UnchangedFolders.MaxPerPart, unchanged.Length - start));
            await sink.SendUnchangedAsync(new UnchangedFolders(chunk.ScanId, baseScanId, part, folders), cancellationToken);
        }
        // The gateway starts the ingest only if as many arrived: a part lost would read as folders gone.
        await sink.SendAsync(chunk with { UnchangedFolders = unchanged.Length }, cancellationToken);
    }
}
