using Alto.Agent.Scanning;
using Alto.Scanning;

namespace Alto.Agent.Tests.Scanning;

/// <summary>
/// How a scan hands its chunks to the upload: two at a time (the gateway copies two chunks of a
/// host side by side), never more, the final chunk only after every other one is in, and a refused
/// chunk fails the scan at once with the gateway's answer, the other upload cancelled.
/// </summary>
public sealed class ChunkUploadOrderTests : IDisposable
{
    private const int Files = 40;
    private const int RowsPerChunk = 4;
    private readonly string _tree = Directory.CreateTempSubdirectory("alto-upload-order-").FullName;

    public ChunkUploadOrderTests()
    {
        for (var i = 0; i < Files; i++)
        {
            var folder = Path.Combine(_tree, $"d{i % 4}");
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, $"f{i}.txt"), new string('x', i + 1));
        }
    }

    public void Dispose() => Directory.Delete(_tree, recursive: true);

    [Fact]
    public async Task ChunksUploadTwoAtATimeAndTheFinalOneAfterAllOthers()
    {
        var sink = new RecordingSink(failChunk: null);

        var result = await new ScanRunner(sink).RunAsync(Settings(), new ScanCounters(), CancellationToken.None);

        Assert.Equal(Files, result.Rows);
        Assert.Equal(Enumerable.Range(0, result.Chunks), sink.Finished.Order());
        Assert.Equal(UploadWindow.Limit, sink.MostAtOnce);
        // Every other chunk had finished when the final one started.
        Assert.Equal(result.Chunks - 1, sink.FinishedBeforeFinalStarted);
    }

    [Fact]
    public async Task ARefusedChunkFailsTheScanWithTheGatewaysAnswerWithoutWaitingForTheOtherUpload()
    {
        // Chunk 2 never finishes on its own: the scan must not wait for it once chunk 3 is refused.
        var sink = new RecordingSink(failChunk: 3, hangChunk: 2);

        var error = await Assert.ThrowsAsync<UploadException>(() =>
            new ScanRunner(sink).RunAsync(Settings(), new ScanCounters(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Contains("chunk 3", error.Message);
        // The cancellation reaches the other upload as the scan stops (it is not waited for).
        await sink.HungUploadCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(sink.FinishedBeforeFinalStarted);
    }

    /// <summary>A root refused before the walk begins fails the scan with its reason, and the stages after the walk end with it.</summary>
    [Fact]
    public async Task ARootRefusedBeforeTheWalkEndsEveryStage()
    {
        var sink = new RecordingSink(failChunk: null);
        System.Threading.Channels.ChannelWriter<ScanRecord[]>? rows = null;
        var refusing = new RefusingWalker(output => rows = output);

        var error = await Assert.ThrowsAsync<DirectoryNotFoundException>(() =>
            new ScanRunner(sink, (_, _) => refusing).RunAsync(Settings(), new ScanCounters(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Contains("cannot read the scan root", error.Message, StringComparison.Ordinal);
        // The rows the chunk builder waits on are closed: it stops rather than wait for ever.
        Assert.False(rows!.TryWrite([]));
        Assert.Empty(sink.Finished);
    }

    /// <summary>A walker whose root cannot be read: it throws before any walking, as the real walkers do.</summary>
    private sealed class RefusingWalker(Action<System.Threading.Channels.ChannelWriter<ScanRecord[]>> seen) : ITreeWalker
    {
        public Task WalkAsync(IReadOnlyList<string> roots, System.Threading.Channels.ChannelWriter<ScanRecord[]> output, CancellationToken cancellationToken)
        {
            seen(output);
            throw new DirectoryNotFoundException($"cannot read the scan root '{roots[0]}' (errno 2)");
        }
    }

    private ScanSettings Settings() =>
        new([_tree], "csv", ChunkCompressionKind.None, BatchRows: RowsPerChunk, Workers: 2, CrossMounts: false);

    /// <summary>Takes each upload some time (long enough for the next chunk to be built), noting what overlapped.</summary>
    private sealed class RecordingSink(int? failChunk, int? hangChunk = null) : IChunkSink
    {
        private readonly Lock _gate = new();
        private readonly List<int> _finished = [];
        private int _running;

        public int MostAtOnce { get; private set; }

        public int? FinishedBeforeFinalStarted { get; private set; }

        public TaskCompletionSource HungUploadCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<int> Finished
        {
            get
            {
                lock (_gate)
                {
                    return [.. _finished];
                }
            }
        }

        public async Task SendAsync(ScanChunk chunk, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                _running++;
                MostAtOnce = Math.Max(MostAtOnce, _running);
                if (chunk.IsFinal)
                {
                    FinishedBeforeFinalStarted = _finished.Count;
                }
            }
            try
            {
                if (chunk.Number == failChunk)
                {
                    throw new UploadException($"the gateway refused chunk {chunk.Number}: 400: a stand-in refusal");
                }
                if (chunk.Number == hangChunk)
                {
                    try
                    {
                        await Task.Delay(Timeout.Infinite, cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        HungUploadCancelled.TrySetResult();
                        throw;
                    }
                }
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
                lock (_gate)
                {
                    _finished.Add(chunk.Number);
                }
            }
            finally
            {
                lock (_gate)
                {
                    _running--;
                }
            }
        }

        public Task SendUnchangedAsync(UnchangedFolders part, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
