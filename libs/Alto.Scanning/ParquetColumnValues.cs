using Parquet;
using Parquet.Schema;

namespace Alto.Scanning;

/// <summary>
/// What a Parquet scan chunk may store in each column, and how it becomes the record's value.
/// Chunks come from other writers than the agent's (DuckDB, Arrow, Spark, a CSV converted by a
/// script), which pick the narrowest integer that fits, unsigned types, or keep every column as
/// text: a whole number of any integer type, or as text, is a size or a file id; a timestamp of any
/// unit, or RFC 3339 text with a zone (the CSV's rule), is a time; a boolean, or the CSV's
/// true/false/1/0, is a flag. A bare number for a time is refused: its unit cannot be known.
/// </summary>
internal static class ParquetColumnValues
{
    /// <summary>Why a column's stored type is refused, in the format's terms; null when it is accepted.</summary>
    public static string? Refusal(string column, DataField field)
    {
        var stored = Underlying(field.ClrType);
        var accepted = KindOf(column) switch
        {
            ValueKind.WholeNumber => IsInteger(stored) || IsText(stored),
            ValueKind.Time => stored == typeof(DateTime) || IsText(stored),
            ValueKind.Flag => stored == typeof(bool) || IsText(stored),
            _ => IsText(stored),
        };
        if (accepted && !field.IsArray)
        {
            return null;
        }
        var wanted = KindOf(column) switch
        {
            ValueKind.WholeNumber => "integer values (or whole numbers as UTF-8 text)",
            ValueKind.Time => "timestamp values (or RFC 3339 times with a zone as UTF-8 text)",
            ValueKind.Flag => "boolean values (or true/false as UTF-8 text)",
            _ => "UTF-8 string values",
        };
        var found = field.IsArray ? "lists" : Describe(stored);
        var why = KindOf(column) == ValueKind.Time && IsInteger(stored) ? " (a bare number's unit cannot be known)" : "";
        return $"the column {column} must hold {wanted}, not {found}{why}";
    }

    /// <summary>
    /// Whether an optional column whose type is refused may still be taken when it holds no values:
    /// writers give a column of nothing but nulls a type of their own (DuckDB and Arrow a 32-bit
    /// integer), which says nothing about what the column would hold.
    /// </summary>
    public static bool MayHoldOnlyNulls(string column, DataField field)
    {
        var stored = Underlying(field.ClrType);
        return !ScanHeader.Required.Contains(column) && !field.IsArray
            && (IsInteger(stored) || IsText(stored) || stored == typeof(DateTime) || stored == typeof(bool));
    }

    /// <summary>Refuses, naming the first row that holds one, a value in a column taken for holding none (<see cref="MayHoldOnlyNulls"/>).</summary>
    public static async Task CheckOnlyNullsAsync(
        ParquetRowGroupReader group, DataField field, string column, string refusal, int count, long rowsBefore, CancellationToken cancellationToken)
    {
        var stored = Underlying(field.ClrType);
        var present = IsText(stored) ? Array.FindIndex(await TextsAsync(group, field, count, cancellationToken), value => value is not null)
            : stored == typeof(DateTime) ? Array.FindIndex(await ReadAsync<DateTime>(group, field, count, cancellationToken), value => value is not null)
            : stored == typeof(bool) ? Array.FindIndex(await ReadAsync<bool>(group, field, count, cancellationToken), value => value is not null)
            : Array.FindIndex(await WholeNumbersAsync(group, field, column, count, rowsBefore, cancellationToken), value => value is not null);
        if (present >= 0)
        {
            throw new ScanFormatException(rowsBefore + present + 1, column, refusal);
        }
    }

    /// <summary>Reads a size or file-id column of a row group as 64-bit integers; <paramref name="rowsBefore"/> numbers the rows in errors.</summary>
    public static async Task<long?[]> WholeNumbersAsync(
        ParquetRowGroupReader group, DataField field, string column, int count, long rowsBefore, CancellationToken cancellationToken)
    {
        var stored = Underlying(field.ClrType);
        if (IsText(stored))
        {
            var texts = await TextsAsync(group, field, count, cancellationToken);
            return Convert(texts, (i, text) => CsvScanReader.ParseLong(rowsBefore + i + 1, column, text));
        }
        return stored switch
        {
            _ when stored == typeof(long) => await ReadAsync<long>(group, field, count, cancellationToken),
            _ when stored == typeof(int) => Convert(await ReadAsync<int>(group, field, count, cancellationToken), (_, value) => (long)value),
            _ when stored == typeof(short) => Convert(await ReadAsync<short>(group, field, count, cancellationToken), (_, value) => (long)value),
            _ when stored == typeof(sbyte) => Convert(await ReadAsync<sbyte>(group, field, count, cancellationToken), (_, value) => (long)value),
            _ when stored == typeof(uint) => Convert(await ReadAsync<uint>(group, field, count, cancellationToken), (_, value) => (long)value),
            _ when stored == typeof(ushort) => Convert(await ReadAsync<ushort>(group, field, count, cancellationToken), (_, value) => (long)value),
            _ when stored == typeof(byte) => Convert(await ReadAsync<byte>(group, field, count, cancellationToken), (_, value) => (long)value),
            _ => Convert(await ReadAsync<ulong>(group, field, count, cancellationToken), (i, value) => value <= long.MaxValue
                ? (long)value
                : throw new ScanFormatException(rowsBefore + i + 1, column, $"'{value}' is too large (more than 63 bits)")),
        };
    }

    /// <summary>Reads a time column of a row group as UTC instants.</summary>
    public static async Task<DateTimeOffset?[]> TimesAsync(
        ParquetRowGroupReader group, DataField field, string column, int count, long rowsBefore, CancellationToken cancellationToken) =>
        IsText(Underlying(field.ClrType))
            ? Convert(await TextsAsync(group, field, count, cancellationToken), (i, text) => CsvScanReader.ParseTimestamp(rowsBefore + i + 1, column, text))
            // A timestamp with or without isAdjustedToUTC is read as UTC, as the agent writes it.
            : Convert(await ReadAsync<DateTime>(group, field, count, cancellationToken), (_, value) => ParquetScanFormat.Utc(value));

    /// <summary>Reads the stub flag of a row group.</summary>
    public static async Task<bool?[]> FlagsAsync(
        ParquetRowGroupReader group, DataField field, int count, long rowsBefore, CancellationToken cancellationToken) =>
        IsText(Underlying(field.ClrType))
            ? Convert(await TextsAsync(group, field, count, cancellationToken), (i, text) => CsvScanReader.ParseBool(rowsBefore + i + 1, text))
            : await ReadAsync<bool>(group, field, count, cancellationToken);

    /// <summary>Reads a text column of a row group.</summary>
    public static async Task<string?[]> TextsAsync(ParquetRowGroupReader group, DataField field, int count, CancellationToken cancellationToken)
    {
        var values = new string?[count];
        await group.ReadAsync(field, values!, cancellationToken: cancellationToken);
        return values;
    }

    private enum ValueKind { Text, WholeNumber, Time, Flag }

    private static ValueKind KindOf(string column) => column switch
    {
        ScanColumns.FileSize or ScanColumns.FileId or ScanColumns.Links => ValueKind.WholeNumber,
        ScanColumns.LastModified or ScanColumns.LastAccessed or ScanColumns.Ctime => ValueKind.Time,
        ScanColumns.IsStub => ValueKind.Flag,
        _ => ValueKind.Text,
    };

    private static async Task<T?[]> ReadAsync<T>(ParquetRowGroupReader group, DataField field, int count, CancellationToken cancellationToken)
        where T : struct
    {
        var values = new T?[count];
        await group.ReadAsync<T>(field, values, cancellationToken: cancellationToken);
        return values;
    }

    /// <summary>Each present value converted (null stays null); <paramref name="convert"/> gets the value's index in the group.</summary>
    private static TOut?[] Convert<TIn, TOut>(TIn?[] values, Func<int, TIn, TOut> convert)
        where TIn : struct where TOut : struct
    {
        var converted = new TOut?[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] is { } value)
            {
                converted[i] = convert(i, value);
            }
        }
        return converted;
    }

    private static TOut?[] Convert<TOut>(string?[] values, Func<int, string, TOut> convert)
        where TOut : struct
    {
        var converted = new TOut?[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] is { } value)
            {
                converted[i] = convert(i, value);
            }
        }
        return converted;
    }

    private static Type Underlying(Type type) => Nullable.GetUnderlyingType(type) ?? type;

    // The reader gives UTF-8 text as memory of characters; a writer's own schema may say string.
    private static bool IsText(Type type) => type == typeof(string) || type == typeof(ReadOnlyMemory<char>);

    private static bool IsInteger(Type type) =>
        type == typeof(long) || type == typeof(int) || type == typeof(short) || type == typeof(sbyte)
        || type == typeof(ulong) || type == typeof(uint) || type == typeof(ushort) || type == typeof(byte);

    /// <summary>A stored type in the format's terms (the refusal is read by whoever wrote the file, not by a .NET programmer).</summary>
    private static string Describe(Type type) => type switch
    {
        _ when type == typeof(long) => "64-bit integers",
        _ when type == typeof(int) => "32-bit integers",
        _ when type == typeof(short) || type == typeof(sbyte) => "small integers",
        _ when type == typeof(ulong) || type == typeof(uint) || type == typeof(ushort) || type == typeof(byte) => "unsigned integers",
        _ when type == typeof(DateTime) => "timestamps",
        _ when type == typeof(bool) => "booleans",
        _ when IsText(type) => "UTF-8 strings",
        _ when type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>) => "binary values (bytes not marked as UTF-8)",
        _ when type == typeof(float) || type == typeof(double) || type == typeof(decimal) => "fractional numbers",
        _ when type == typeof(TimeSpan) => "times of day or intervals",
        _ when type == typeof(DateOnly) => "dates",
        _ => "values of another type",
    };
}
