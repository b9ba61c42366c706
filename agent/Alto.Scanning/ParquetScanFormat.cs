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

    private static readonly ParquetSchema Schema = new(
        FilePath, FileSize, LastModified, LastAccessed, FileExtension, Permissions, Owner, Hash, Ctime, FileId, IsStub, PathEncodingField);

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
    }

    /// <summary>Reads and checks every row; a malformed file or value is a <see cref="ScanFormatException"/>.</summary>
    public static async Task<List<ScanRecord>> ReadAsync(Stream input, CancellationToken cancellationToken)
    {
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(input, cancellationToken: cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            throw new ScanFormatException(0, null, $"not a readable Parquet file: {exception.Message}");
        }
        await using (reader)
        {
            var names = reader.Schema.GetDataFields().Select(field => field.Name).ToList();
            if (!names.SequenceEqual(ScanColumns.All))
            {
                throw new ScanFormatException(0, null, $"the columns must be exactly: {string.Join(',', ScanColumns.All)}");
            }
            var rows = new List<ScanRecord>();
            long rowNumber = 0;
            for (var index = 0; index < reader.RowGroupCount; index++)
            {
                using var group = reader.OpenRowGroupReader(index);
                var count = checked((int)group.RowCount);
                var paths = await ReadStringsAsync(group, FilePath, count, cancellationToken);
                var sizes = await ReadAsync(group, FileSize, count, cancellationToken);
                var modified = await ReadAsync(group, LastModified, count, cancellationToken);
                var accessed = await ReadAsync(group, LastAccessed, count, cancellationToken);
                var extensions = await ReadStringsAsync(group, FileExtension, count, cancellationToken);
                var permissions = await ReadStringsAsync(group, Permissions, count, cancellationToken);
                var owners = await ReadStringsAsync(group, Owner, count, cancellationToken);
                var hashes = await ReadStringsAsync(group, Hash, count, cancellationToken);
                var ctimes = await ReadNullableAsync(group, Ctime, count, cancellationToken);
                var ids = await ReadAsync(group, FileId, count, cancellationToken);
                var stubs = await ReadAsync(group, IsStub, count, cancellationToken);
                var encodings = await ReadStringsAsync(group, PathEncodingField, count, cancellationToken);
                for (var i = 0; i < count; i++)
                {
                    rowNumber++;
                    rows.Add(ScanRecordRules.Build(rowNumber,
                        paths[i] ?? throw new ScanFormatException(rowNumber, ScanColumns.FilePath, "missing"),
                        sizes[i], Utc(modified[i]), Utc(accessed[i]), extensions[i] ?? "", permissions[i] ?? "", owners[i] ?? "",
                        hashes[i], ctimes[i] is { } ctime ? Utc(ctime) : null, ids[i], stubs[i], encodings[i] ?? ""));
                }
            }
            return rows;
        }
    }

    private static async Task<T[]> ReadAsync<T>(ParquetRowGroupReader group, DataField<T> field, int count, CancellationToken cancellationToken)
        where T : struct
    {
        var values = new T[count];
        await group.ReadAsync<T>(field, values, cancellationToken: cancellationToken);
        return values;
    }

    private static async Task<T?[]> ReadNullableAsync<T>(ParquetRowGroupReader group, DataField<T?> field, int count, CancellationToken cancellationToken)
        where T : struct
    {
        var values = new T?[count];
        await group.ReadAsync<T>(field, values, cancellationToken: cancellationToken);
        return values;
    }

    private static async Task<string?[]> ReadStringsAsync(ParquetRowGroupReader group, DataField<string> field, int count, CancellationToken cancellationToken)
    {
        var values = new string?[count];
        await group.ReadAsync(field, values!, cancellationToken: cancellationToken);
        return values;
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
