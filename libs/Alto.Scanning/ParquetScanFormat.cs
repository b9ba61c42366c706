using Parquet;
using Parquet.Schema;

namespace Alto.Scanning;

/// <summary>
/// Scan chunks as Apache Parquet: one row group per chunk, the same column names as CSV, typed
/// values (64-bit integers, UTC timestamps, booleans, UTF-8 strings).
/// </summary>
public static class ParquetScanFormat
{
    private static readonly DataField<string> FilePath = new(ScanColumns.FilePath);
    private static readonly DataField<long> FileSize = new(ScanColumns.FileSize);
    private static readonly DataField<DateTime> LastModified = new(ScanColumns.LastModified);
    private static readonly DataField<DateTime> LastAccessed = new(ScanColumns.LastAccessed);
    private static readonly DataField<string> FileExtension = new(ScanColumns.FileExtension);
    private static readonly DataField<string> Permissions = new(ScanColumns.Permissions);
    private static readonly DataField<string> Owner = new(ScanColumns.Owner);
    private static readonly DataField<string> Hash = new(ScanColumns.Hash, nullable: true);
    private static readonly DataField<DateTime?> Ctime = new(ScanColumns.Ctime);
    private static readonly DataField<long> FileId = new(ScanColumns.FileId);
    private static readonly DataField<bool> IsStub = new(ScanColumns.IsStub);
    private static readonly DataField<string> PathEncodingField = new(ScanColumns.PathEncoding);
    private static readonly DataField<int> Links = new(ScanColumns.Links);

    private static readonly ParquetSchema Schema = new(
        FilePath, FileSize, LastModified, LastAccessed, FileExtension, Permissions, Owner, Hash, Ctime, FileId, IsStub, PathEncodingField, Links);

    public static async Task WriteAsync(Stream output, IReadOnlyList<ScanRecord> rows, CancellationToken cancellationToken)
    {
        await using var writer = await ParquetWriter.CreateAsync(Schema, output, cancellationToken: cancellationToken);
        using var group = writer.CreateRowGroup();
        await group.WriteAsync(FilePath, rows.Select(r => r.FilePath).ToArray());
        await group.WriteAsync<long>(FileSize, rows.Select(r => r.FileSize).ToArray(), cancellationToken: cancellationToken);
        await group.WriteAsync<DateTime>(LastModified, rows.Select(r => r.LastModified.UtcDateTime).ToArray(), cancellationToken: cancellationToken);
        await group.WriteAsync<DateTime>(LastAccessed, rows.Select(r => r.LastAccessed.UtcDateTime).ToArray(), cancellationToken: cancellationToken);
        await group.WriteAsync(FileExtension, rows.Select(r => r.FileExtension).ToArray());
        await group.WriteAsync(Permissions, rows.Select(r => r.Permissions).ToArray());
        await group.WriteAsync(Owner, rows.Select(r => r.Owner).ToArray());
        await group.WriteAsync(Hash, rows.Select(r => r.Hash!).ToArray());
        await group.WriteAsync<DateTime>(Ctime, rows.Select(r => r.Ctime?.UtcDateTime).ToArray(), cancellationToken: cancellationToken);
        await group.WriteAsync<long>(FileId, rows.Select(r => r.FileId).ToArray(), cancellationToken: cancellationToken);
        await group.WriteAsync<bool>(IsStub, rows.Select(r => r.IsStub).ToArray(), cancellationToken: cancellationToken);
        await group.WriteAsync(PathEncodingField, rows.Select(r => PathEncoding.Name(r.PathEncoding)).ToArray());
        await group.WriteAsync<int>(Links, rows.Select(r => r.Links).ToArray(), cancellationToken: cancellationToken);
    }

    /// <summary>Reads and checks every row of a chunk held in memory (tests and tools; the gateway streams with <see cref="ParquetScanReader"/>).</summary>
    public static async Task<List<ScanRecord>> ReadAllAsync(Stream input, PathFlavor flavor, CancellationToken cancellationToken)
    {
        await using var reader = await ParquetScanReader.OpenAsync(input, flavor, cancellationToken);
        var rows = new List<ScanRecord>();
        while (await reader.ReadAsync(cancellationToken) is { } row)
        {
            rows.Add(row);
        }
        return rows;
    }

    internal static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
