using Alto.Scanning;

namespace Alto.Agent.Scanning;

/// <summary>
/// The rows of one chunk on their way to bytes. CSV rows are written out as they arrive, so a
/// row object lives only briefly, into a text buffer the scan's chunks take in turn (a fresh one
/// a chunk grew by doubling through megabytes of new, zeroed memory); Parquet is columnar and
/// keeps the rows until the chunk ends.
/// </summary>
internal abstract class ChunkBatch(ScanSettings settings) : IDisposable
{
    public int Count { get; private set; }

    protected ScanSettings Settings => settings;

    /// <summary>A batch for the next chunk; <c>text</c>, the scan's buffer for CSV, is emptied here and free again once the chunk is complete.</summary>
    public static ChunkBatch Create(ScanSettings settings, MemoryStream text) =>
        settings.Format == "parquet" ? new ParquetBatch(settings) : new CsvBatch(settings, text);

    public void Add(ScanRecord row)
    {
        Append(row);
        Count++;
    }

    public async Task<ScanChunk> CompleteAsync(Guid scanId, int number, bool final, CancellationToken cancellationToken)
    {
        var plain = await SerializeAsync(cancellationToken);
        var body = ChunkCompression.Compress(plain.Span, settings.Compression);
        return new ScanChunk(scanId, number, final, Count, body, settings.Format, settings.Compression);
    }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    protected abstract void Append(ScanRecord row);

    protected abstract Task<ReadOnlyMemory<byte>> SerializeAsync(CancellationToken cancellationToken);

    private sealed class CsvBatch : ChunkBatch
    {
        private readonly MemoryStream _buffer;
        private readonly CsvScanWriter _writer;

        public CsvBatch(ScanSettings settings, MemoryStream buffer) : base(settings)
        {
            buffer.SetLength(0);
            _buffer = buffer;
            _writer = new CsvScanWriter(buffer);
        }

        protected override void Append(ScanRecord row) => _writer.Write(row);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _writer.Dispose();
            }
            base.Dispose(disposing);
        }

        protected override Task<ReadOnlyMemory<byte>> SerializeAsync(CancellationToken cancellationToken)
        {
            _writer.Dispose();
            return Task.FromResult<ReadOnlyMemory<byte>>(_buffer.GetBuffer().AsMemory(0, (int)_buffer.Length));
        }
    }

    private sealed class ParquetBatch(ScanSettings settings) : ChunkBatch(settings)
    {
        private readonly List<ScanRecord> _rows = new(settings.BatchRows);

        protected override void Append(ScanRecord row) => _rows.Add(row);

        protected override async Task<ReadOnlyMemory<byte>> SerializeAsync(CancellationToken cancellationToken)
        {
            var buffer = new MemoryStream();
            await ParquetScanFormat.WriteAsync(buffer, _rows, cancellationToken);
            return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        }
    }
}
