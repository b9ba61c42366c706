using Parquet;
using Parquet.Schema;

namespace Alto.Scanning;

/// <summary>
/// Reads a Parquet scan chunk one row group at a time, finding columns by name like the CSV
/// reader: the four essentials required, Alto's other columns optional, an unknown column or a
/// column of a type that cannot hold its values refused by name (what each may hold: <see cref="ParquetColumnValues"/>).
/// Parquet needs to seek, so the input must be seekable.
/// </summary>
public sealed class ParquetScanReader : IScanRowReader, IAsyncDisposable
{
    private readonly ParquetReader _reader;
    private readonly PathFlavor _flavor;
    private readonly Dictionary<string, DataField> _columns;

    /// <summary>Optional columns of another type, taken as absent while they hold nothing but nulls (with the refusal for a value).</summary>
    private readonly Dictionary<string, (DataField Field, string Refusal)> _nullsOnly;
    private int _group = -1;
    private int _index;
    private int _count;
    private long _row;
    private GroupColumns? _values;

    private readonly int _maxRows;

    private ParquetScanReader(
        ParquetReader reader, PathFlavor flavor, Dictionary<string, DataField> columns, Dictionary<string, (DataField Field, string Refusal)> nullsOnly, int maxRows) =>
        (_reader, _flavor, _columns, _nullsOnly, _maxRows) = (reader, flavor, columns, nullsOnly, maxRows);

    public static Task<ParquetScanReader> OpenAsync(Stream input, PathFlavor flavor, CancellationToken cancellationToken) =>
        OpenAsync(input, flavor, int.MaxValue, cancellationToken);

    /// <summary>
    /// Opens the chunk; a row group that says it holds more than <paramref name="maxRows"/> rows
    /// (with those before it) is refused as too large before anything is made for its rows.
    /// </summary>
    public static async Task<ParquetScanReader> OpenAsync(Stream input, PathFlavor flavor, int maxRows, CancellationToken cancellationToken)
    {
        // Damaged or hostile bytes must end in a refusal, never in a read that does not end (see StrictEndStream).
        await ParquetFooterCheck.CheckAsync(input, cancellationToken);
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(new StrictEndStream(input), cancellationToken: cancellationToken);
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
            var nullsOnly = new Dictionary<string, (DataField Field, string Refusal)>(StringComparer.Ordinal);
            // Parquet's null type (Arrow's, on any integer) says the column holds no value at all.
            var nullTyped = reader.Metadata?.Schema.Where(element => element.LogicalType?.UNKNOWN is not null).Select(element => element.Name).ToHashSet()
                            ?? [];
            foreach (var field in fields)
            {
                var name = ScanHeader.KnownName(field.Name);
                if (nullTyped.Contains(field.Name))
                {
                    // An optional column so typed is absent; a required one could never give its rows a value.
                    if (ScanHeader.Required.Contains(name))
                    {
                        throw new ScanFormatException(0, name, $"the column {name} is of Parquet's null type: it holds no values, and every row needs one");
                    }
                }
                else if (ParquetColumnValues.Refusal(name, field) is not { } refusal)
                {
                    columns[name] = field;
                }
                else if (ParquetColumnValues.MayHoldOnlyNulls(name, field))
                {
                    nullsOnly[name] = (field, refusal);
                }
                else
                {
                    throw new ScanFormatException(0, name, refusal);
                }
            }
            return new ParquetScanReader(reader, flavor, columns, nullsOnly, maxRows);
        }
        catch (Exception exception) when (exception is not (OperationCanceledException or ScanFormatException or OutOfMemoryException))
        {
            // The schema is decoded when first asked for: a footer that parses but does not describe columns is a bad chunk too.
            await reader.DisposeAsync();
            throw new ScanFormatException(0, null, $"not a readable Parquet file: its schema is damaged ({exception.Message})");
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
            catch (Exception exception) when (exception is not (OperationCanceledException or ScanFormatException or ChunkTooLargeException or OutOfMemoryException))
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
            values.Modified[i] ?? throw Missing(row, ScanColumns.LastModified),
            values.Accessed[i] ?? throw Missing(row, ScanColumns.LastAccessed),
            values.Extensions?[i] ?? "", values.Permissions?[i] ?? "", values.Owners?[i] ?? "", values.Hashes?[i],
            values.Ctimes?[i],
            values.FileIds?[i] ?? 0, values.Stubs?[i] ?? false, values.Encodings?[i] ?? "", values.Links?[i] ?? 1);
    }

    public ValueTask DisposeAsync() => _reader.DisposeAsync();

    private sealed record GroupColumns(
        string?[] Paths, long?[] Sizes, DateTimeOffset?[] Modified, DateTimeOffset?[] Accessed, string?[]? Extensions, string?[]? Permissions,
        string?[]? Owners, string?[]? Hashes, DateTimeOffset?[]? Ctimes, long?[]? FileIds, bool?[]? Stubs, string?[]? Encodings, long?[]? Links);

    private async Task<GroupColumns> ReadGroupAsync(int index, CancellationToken cancellationToken)
    {
        using var group = _reader.OpenRowGroupReader(index);
        // Each column of the group is read whole: a count no chunk may hold would have its arrays made for it first.
        if (group.RowCount > _maxRows - _row)
        {
            throw new ChunkTooLargeException($"the chunk has more than {_maxRows} rows (its row group {index} says it holds {group.RowCount})");
        }
        _count = checked((int)group.RowCount);
        foreach (var (name, (field, refusal)) in _nullsOnly)
        {
            await ParquetColumnValues.CheckOnlyNullsAsync(group, field, name, refusal, _count, _row, cancellationToken);
        }
        return new GroupColumns(
            (await TextsAsync(group, ScanColumns.FilePath, cancellationToken))!,
            (await WholeNumbersAsync(group, ScanColumns.FileSize, cancellationToken))!,
            (await TimesAsync(group, ScanColumns.LastModified, cancellationToken))!,
            (await TimesAsync(group, ScanColumns.LastAccessed, cancellationToken))!,
            await TextsAsync(group, ScanColumns.FileExtension, cancellationToken),
            await TextsAsync(group, ScanColumns.Permissions, cancellationToken),
            await TextsAsync(group, ScanColumns.Owner, cancellationToken),
            await TextsAsync(group, ScanColumns.Hash, cancellationToken),
            await TimesAsync(group, ScanColumns.Ctime, cancellationToken),
            await WholeNumbersAsync(group, ScanColumns.FileId, cancellationToken),
            _columns.TryGetValue(ScanColumns.IsStub, out var stub) ? await ParquetColumnValues.FlagsAsync(group, stub, _count, _row, cancellationToken) : null,
            await TextsAsync(group, ScanColumns.PathEncoding, cancellationToken),
            await WholeNumbersAsync(group, ScanColumns.Links, cancellationToken));
    }

    // Each null when the chunk has no such column; rows are numbered after the _row read before this group.
    private async Task<long?[]?> WholeNumbersAsync(ParquetRowGroupReader group, string column, CancellationToken cancellationToken) =>
        _columns.TryGetValue(column, out var field) ? await ParquetColumnValues.WholeNumbersAsync(group, field, column, _count, _row, cancellationToken) : null;

    private async Task<DateTimeOffset?[]?> TimesAsync(ParquetRowGroupReader group, string column, CancellationToken cancellationToken) =>
        _columns.TryGetValue(column, out var field) ? await ParquetColumnValues.TimesAsync(group, field, column, _count, _row, cancellationToken) : null;

    private async Task<string?[]?> TextsAsync(ParquetRowGroupReader group, string column, CancellationToken cancellationToken) =>
        _columns.TryGetValue(column, out var field) ? await ParquetColumnValues.TextsAsync(group, field, _count, cancellationToken) : null;

    private static ScanFormatException Missing(long row, string column) => new(row, column, "missing (null)");
}
