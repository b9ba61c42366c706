using System.Globalization;
using System.Text;

namespace Alto.Scanning;

/// <summary>
/// Reads a CSV scan chunk strictly: RFC 4180 quoting, the exact header, every value checked.
/// The first problem stops the read with a <see cref="ScanFormatException"/> naming row and column.
/// </summary>
public static class CsvScanReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    public static List<ScanRecord> Read(ReadOnlySpan<byte> csv)
    {
        string text;
        try
        {
            text = StrictUtf8.GetString(csv);
        }
        catch (DecoderFallbackException)
        {
            throw new ScanFormatException(0, null, "the body is not valid UTF-8");
        }

        var rows = new List<ScanRecord>();
        var fields = new List<string>(ScanColumns.All.Count);
        var position = 0;
        long record = 0;
        if (!ReadRecord(text, ref position, fields, record))
        {
            throw new ScanFormatException(0, null, "the chunk is empty: a header line is required");
        }
        if (!fields.SequenceEqual(ScanColumns.All))
        {
            throw new ScanFormatException(0, null, $"the header must be exactly: {string.Join(',', ScanColumns.All)}");
        }
        while (ReadRecord(text, ref position, fields, ++record))
        {
            rows.Add(ToRecord(fields, record));
        }
        return rows;
    }

    /// <summary>Reads one record into <paramref name="fields"/>; false at the end of the text.</summary>
    private static bool ReadRecord(string text, ref int position, List<string> fields, long record)
    {
        fields.Clear();
        if (position >= text.Length)
        {
            return false;
        }
        var field = new StringBuilder();
        while (true)
        {
            field.Clear();
            if (position < text.Length && text[position] == '"')
            {
                position++;
                while (true)
                {
                    if (position >= text.Length)
                    {
                        throw new ScanFormatException(record, ColumnName(fields.Count), "unterminated quoted field");
                    }
                    var c = text[position++];
                    if (c == '"')
                    {
                        if (position < text.Length && text[position] == '"')
                        {
                            field.Append('"');
                            position++;
                            continue;
                        }
                        break;
                    }
                    field.Append(c);
                }
                if (position < text.Length && text[position] is not (',' or '\r' or '\n'))
                {
                    throw new ScanFormatException(record, ColumnName(fields.Count), "text after a closing quote");
                }
            }
            else
            {
                var start = position;
                while (position < text.Length && text[position] is not (',' or '\r' or '\n'))
                {
                    if (text[position] == '"')
                    {
                        throw new ScanFormatException(record, ColumnName(fields.Count), "a quote inside an unquoted field");
                    }
                    position++;
                }
                field.Append(text, start, position - start);
            }
            fields.Add(field.ToString());

            if (position >= text.Length)
            {
                return true;
            }
            var separator = text[position++];
            if (separator == ',')
            {
                continue;
            }
            if (separator == '\r')
            {
                if (position >= text.Length || text[position] != '\n')
                {
                    throw new ScanFormatException(record, null, "a bare CR: lines end with CRLF or LF");
                }
                position++;
            }
            return true;
        }
    }

    private static ScanRecord ToRecord(List<string> fields, long row)
    {
        if (fields.Count != ScanColumns.All.Count)
        {
            throw new ScanFormatException(row, null, $"expected {ScanColumns.All.Count} columns, found {fields.Count}");
        }
        return ScanRecordRules.Build(row,
            path: fields[0],
            size: ParseLong(row, ScanColumns.FileSize, fields[1]),
            modified: ParseTimestamp(row, ScanColumns.LastModified, fields[2]),
            accessed: ParseTimestamp(row, ScanColumns.LastAccessed, fields[3]),
            extension: fields[4],
            permissions: fields[5],
            owner: fields[6],
            hash: fields[7],
            ctime: fields[8].Length == 0 ? null : ParseTimestamp(row, ScanColumns.Ctime, fields[8]),
            fileId: fields[9].Length == 0 ? 0 : ParseLong(row, ScanColumns.FileId, fields[9]),
            isStub: ParseBool(row, fields[10]),
            encoding: fields[11]);
    }

    private static long ParseLong(long row, string column, string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ScanFormatException(row, column, $"'{Shorten(text)}' is not a whole number");

    private static DateTimeOffset ParseTimestamp(long row, string column, string text) =>
        ScanValues.TryParseTimestamp(text, out var value)
            ? value
            : throw new ScanFormatException(row, column, $"'{Shorten(text)}' is not an RFC 3339 timestamp with a zone (e.g. 2025-01-15T10:30:00Z)");

    private static bool ParseBool(long row, string text) => text switch
    {
        "true" or "1" => true,
        "false" or "0" or "" => false,
        _ => throw new ScanFormatException(row, ScanColumns.IsStub, $"'{Shorten(text)}' is not true or false"),
    };

    private static string? ColumnName(int index) => index < ScanColumns.All.Count ? ScanColumns.All[index] : null;

    internal static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
