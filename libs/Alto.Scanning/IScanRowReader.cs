namespace Alto.Scanning;

/// <summary>A chunk's rows, read one at a time and checked as they come, whatever the chunk's format.</summary>
public interface IScanRowReader
{
    /// <summary>The next row, checked; null after the last. A bad row throws <see cref="ScanFormatException"/>.</summary>
    ValueTask<ScanRecord?> ReadAsync(CancellationToken cancellationToken);
}
