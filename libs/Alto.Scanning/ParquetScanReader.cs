using Parquet;
using Parquet.Schema;

namespace Alto.Scanning;

/// <summary>
/// Reads a Parquet scan chunk one row group at a time, finding columns by name like the CSV
/// reader: the four essentials required, Alto's other columns optional, an unknown column or a
/// column of the wrong type refused by name. Parquet needs to seek, so the input must be seekable.
/// </summary>
public sealed class ParquetScanReader : IScanRowReader, IAsyncDisposable
{
    private readonly ParquetReader _reader;
    private readonly PathFlavor _flavor;
    private readonly Dictionary<string, DataField> _columns;
    private int _group = -1;
    private int _index;
    private int _count;
    private long _row;
    private GroupColumns? _values;

    private ParquetScanReader(ParquetReader reader, PathFlavor flavor, Dictionary<string, DataField> columns) =>
        (_reader, _flavor, _columns) = (reader, flavor, columns);

    public static async Task<ParquetScanReader> OpenAsync(Stream input, PathFlavor flavor, CancellationToken cancellationToken)
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
        try
        {
            var fields = reader.Schema.GetDataFields();
            ScanHeader.Parse([.. fields.Select(field => field.Name)]);
            var columns = new Dictionary<string, DataField>(StringComparer.Ordinal);
            foreach (var field in fields)
            {
                var name = ScanHeader.KnownName(field.Name);
                var expected = ParquetScanFormat.Fields[name].ClrType;
                if (Underlying(field.ClrType) != Underlying(expected) || field.IsArray)
                {
                    throw new ScanFormatException(0, name, $"the column {name} must hold {TypeName(expected)} values, not {TypeName(field.ClrType)}");
                }
                columns[name] = field;
            }
            return new ParquetScanReader(reader, flavor, columns);
        }
        catch
        {
            await reader.DisposeAsync();
            throw;
        }
    }

    /// <summary>The next row, checked; null after the last.</summary>
    public async ValueTask<ScanRecord?> ReadAsync(CancellationToken cancellationToken)
    {
        while (_index >= _count)
        {
            if (++_group >= _reader.RowGroupCount)
            {
                return null;
            }
            try
            {
                _values = await ReadGroupAsync(_group, cancellationToken);
            }
            catch (Exception exception) when (exception is not (OperationCanceledException or ScanFormatException or OutOfMemoryException))
            {
                // A footer that reads but pages that do not (damaged on a disk or on the way): a bad chunk, like any other.
                throw new ScanFormatException(_row + 1, null, $"row group {_group} of the Parquet file is not readable: {exception.Message}");
            }
            _index = 0;
        }
        var i = _index++;
        var row = ++_row;
        var values = _values!;
        return ScanRecordRules.Build(row, _flavor,
            values.Paths[i] ?? throw Missing(row, ScanColumns.FilePath),
            values.Sizes[i] ?? throw Missing(row, ScanColumns.FileSize),
            ParquetScanFormat.Utc(values.Modified[i] ?? throw Missing(row, ScanColumns.LastModified)),
            ParquetScanFormat.Utc(values.Accessed[i] ?? throw Missing(row, ScanColumns.LastAccessed)),
            values.Extensions?[i] ?? "", values.Permissions?[i] ?? "", values.Owners?[i] ?? "", values.Hashes?[i],
            values.Ctimes?[i] is { } ctime ? ParquetScanFormat.Utc(ctime) : null,
            values.FileIds?[i] ?? 0, values.Stubs?[i] ?? false, values.Encodings?[i] ?? "");
    }

    public ValueTask DisposeAsync() => _reader.DisposeAsync();

    private sealed record GroupColumns(
        string?[] Paths, long?[] Sizes, DateTime?[] Modified, DateTime?[] Accessed, string?[]? Extensions, string?[]? Permissions,
        string?[]? Owners, string?[]? Hashes, DateTime?[]? Ctimes, long?[]? FileIds, bool?[]? Stubs, string?[]? Encodings);

    private async Task<GroupColumns> ReadGroupAsync(int index, CancellationToken cancellationToken)
    {
        using var group = _reader.OpenRowGroupReader(index);
        _count = checked((int)group.RowCount);
        return new GroupColumns(
            (await StringsAsync(group, ScanColumns.FilePath, cancellationToken))!,
            (await ValuesAsync<long>(group, ScanColumns.FileSize, cancellationToken))!,
            (await ValuesAsync<DateTime>(group, ScanColumns.LastModified, cancellationToken))!,
            (await ValuesAsync<DateTime>(group, ScanColumns.LastAccessed, cancellationToken))!,
            await StringsAsync(group, ScanColumns.FileExtension, cancellationToken),
            await StringsAsync(group, ScanColumns.Permissions, cancellationToken),
            await StringsAsync(group, ScanColumns.Owner, cancellationToken),
            await StringsAsync(group, ScanColumns.Hash, cancellationToken),
            await ValuesAsync<DateTime>(group, ScanColumns.Ctime, cancellationToken),
            await ValuesAsync<long>(group, ScanColumns.FileId, cancellationToken),
            await ValuesAsync<bool>(group, ScanColumns.IsStub, cancellationToken),
            await StringsAsync(group, ScanColumns.PathEncoding, cancellationToken));
    }

    private async Task<T?[]?> ValuesAsync<T>(ParquetRowGroupReader group, string column, CancellationToken cancellationToken)
        where T : struct
    {
        if (!_columns.TryGetValue(column, out var field))
        {
            return null;
        }
        var values = new T?[_count];
        await group.ReadAsync<T>(field, values, cancellationToken: cancellationToken);
        return values;
    }

    private async Task<string?[]?> StringsAsync(ParquetRowGroupReader group, string column, CancellationToken cancellationToken)
    {
        if (!_columns.TryGetValue(column, out var field))
        {
            return null;
        }
        var values = new string?[_count];
        await group.ReadAsync(field, values!, cancellationToken: cancellationToken);
        return values;
    }

    private static ScanFormatException Missing(long row, string column) => new(row, column, "missing (null)");

    private static Type Underlying(Type type) => Nullable.GetUnderlyingType(type) ?? type;

    private static string TypeName(Type type) => Underlying(type) switch
    {
        var t when t == typeof(long) => "64-bit integer",
        var t when t == typeof(DateTime) => "timestamp",
        var t when t == typeof(bool) => "boolean",
        var t when t == typeof(string) => "UTF-8 string",
        var t => t.Name,
    };
}
