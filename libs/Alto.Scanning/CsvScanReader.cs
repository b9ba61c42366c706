using System.Buffers;
using System.Globalization;
using System.Text;

namespace Alto.Scanning;

/// <summary>
/// Reads a CSV scan chunk strictly and as a stream: RFC 4180 quoting, columns found by their
/// header names (the seed's eight, in any order, or with Alto's own), every value checked. Memory
/// stays at one buffer whatever the chunk's size. The first problem stops the read with a
/// <see cref="ScanFormatException"/> naming row and column.
/// </summary>
public sealed class CsvScanReader : IScanRowReader
{
    /// <summary>Longest record accepted, in characters: a longest path, every other field at its limit, all quoted.</summary>
    public const int MaxRecordChars = 64 * 1024;
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);
    private readonly TextReader _text;
    private readonly char[] _buffer = new char[4 * MaxRecordChars];
    private readonly List<string> _fields = new(ScanColumns.All.Count);
    private readonly StringBuilder _field = new();
    // Where an unquoted field ends (or, for a quote, is malformed): searched for many characters at a time.
    private static readonly SearchValues<char> UnquotedFieldEnds = SearchValues.Create(",\r\n\"");
    // Longer values (paths) are rarely repeated: comparing them would cost more than it saves.
    private const int RecentMaxChars = 32;
    private readonly string?[] _recent = new string?[ScanColumns.All.Count];
    private int _start;
    private int _end;
    private bool _exhausted;
    private ScanHeader _header = null!;
    private PathFlavor _flavor;

    private CsvScanReader(TextReader text) => _text = text;

    /// <summary>The number of the last record read (the header is 0).</summary>
    public long Row { get; private set; }

    /// <summary>Opens a chunk and reads its header line; the stream is read as strict UTF-8 and left open.</summary>
    public static async Task<CsvScanReader> OpenAsync(Stream utf8, PathFlavor flavor, CancellationToken cancellationToken)
    {
        var reader = new CsvScanReader(new StreamReader(utf8, StrictUtf8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16, leaveOpen: true))
        {
            _flavor = flavor,
        };
        await reader.FillAsync(cancellationToken);
        // A body of UTF-16 without its byte-order mark otherwise fails as a bare CR or as unknown
        // columns spelled with NULs.
        if (LooksLikeUtf16WithoutItsMark(reader._buffer.AsSpan(0, Math.Min(reader._end, 64))))
        {
            throw new ScanFormatException(0, null, "the header holds NUL characters: UTF-16 text without its byte-order mark? send UTF-8");
        }
        if (!await reader.NextFieldsAsync(cancellationToken))
        {
            throw new ScanFormatException(0, null, "the chunk is empty: a header line is required");
        }
        // Windows PowerShell's Export-Csv writes its object type on the line before the header
        // unless told not to (-NoTypeInformation); Import-Csv passes it over, and so does this.
        if (reader._fields is [var first] && first.TrimStart('\uFEFF').StartsWith("#TYPE ", StringComparison.Ordinal)
            && !await reader.NextFieldsAsync(cancellationToken))
        {
            throw new ScanFormatException(0, null, "the chunk has a #TYPE line and no header line after it");
        }
        reader._header = ScanHeader.Parse(reader._fields);
        return reader;
    }

    /// <summary>
    /// Column names are ASCII: in UTF-16 read as UTF-8 every other character of the header is the
    /// NUL of its high byte (odd places little-endian, even big-endian), and no other is.
    /// </summary>
    private static bool LooksLikeUtf16WithoutItsMark(ReadOnlySpan<char> start)
    {
        if (start.Length < 8)
        {
            return false;
        }
        var nulAt = start[0] == '\0' ? 0 : 1;
        for (var i = 0; i < start.Length; i++)
        {
            if ((start[i] == '\0') != (i % 2 == nulAt))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Reads a whole chunk held in memory (tests and tools; the gateway streams with <see cref="ReadAsync"/>).</summary>
    public static async Task<List<ScanRecord>> ReadAllAsync(byte[] csv, PathFlavor flavor = PathFlavor.Posix)
    {
        using var stream = new MemoryStream(csv, writable: false);
        var reader = await OpenAsync(stream, flavor, CancellationToken.None);
        var rows = new List<ScanRecord>();
        while (await reader.ReadAsync(CancellationToken.None) is { } row)
        {
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>The next row, checked; null after the last.</summary>
    public async ValueTask<ScanRecord?> ReadAsync(CancellationToken cancellationToken)
    {
        if (!await NextFieldsAsync(cancellationToken))
        {
            return null;
        }
        return _header.Build(Row, _fields, _flavor);
    }

    private async ValueTask<bool> NextFieldsAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            // A whole record is in the buffer before it is parsed: parsing never waits in the middle of one.
            if (!_exhausted && _end - _start < MaxRecordChars)
            {
                await FillAsync(cancellationToken);
            }
            if (_start >= _end)
            {
                return false;
            }
            // An empty line holds no record (every record has at least the four required columns): an
            // editor's or a script's extra newline at the end, or a blank line between records, is passed over.
            if (_buffer[_start] == '\n' || (_buffer[_start] == '\r' && _start + 1 < _end && _buffer[_start + 1] == '\n'))
            {
                _start += _buffer[_start] == '\n' ? 1 : 2;
                continue;
            }
            Row = _header is null ? 0 : Row + 1;
            ParseRecord();
            return true;
        }
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
        _end -= _start;
        _start = 0;
        try
        {
            while (!_exhausted && _end < _buffer.Length)
            {
                var read = await _text.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
                _exhausted = read == 0;
                _end += read;
            }
        }
        catch (DecoderFallbackException exception)
        {
            // 0xFF and 0xFE never occur in UTF-8; at the very start they are UTF-16's byte-order mark.
            throw _header is null && Row == 0 && exception.Index == 0 && exception.BytesUnknown is [0xFF or 0xFE, ..]
                ? new ScanFormatException(0, null,
                    "the body is UTF-16 text (it begins with UTF-16's byte-order mark); send UTF-8 (Windows PowerShell: Export-Csv -Encoding UTF8)")
                : new ScanFormatException(Row + 1, null, "the body is not valid UTF-8");
        }
    }

    /// <summary>Parses the record at the buffer's start into <see cref="_fields"/>.</summary>
    private void ParseRecord()
    {
        _fields.Clear();
        var text = _buffer.AsSpan(0, _end);
        var position = _start;
        while (true)
        {
            if (position < _end && text[position] == '"')
            {
                _field.Clear();
                position++;
                while (true)
                {
                    if (position >= _end)
                    {
                        throw Unfinished("unterminated quoted field");
                    }
                    var c = text[position++];
                    if (c == '"')
                    {
                        if (position < _end && text[position] == '"')
                        {
                            _field.Append('"');
                            position++;
                            continue;
                        }
                        break;
                    }
                    _field.Append(c);
                }
                if (position < _end && text[position] is not (',' or '\r' or '\n'))
                {
                    throw new ScanFormatException(Row, ColumnName(_fields.Count), "text after a closing quote");
                }
                _fields.Add(_field.ToString());
            }
            else
            {
                var start = position;
                var length = text[position..].IndexOfAny(UnquotedFieldEnds);
                position = length < 0 ? _end : position + length;
                if (position < _end && text[position] == '"')
                {
                    throw new ScanFormatException(Row, ColumnName(_fields.Count), "a quote inside an unquoted field");
                }
                if (position >= _end && !_exhausted)
                {
                    throw Unfinished("unterminated record");
                }
                _fields.Add(Recent(_fields.Count, text[start..position]));
            }

            if (position >= _end)
            {
                _start = position;
                return;
            }
            var separator = text[position++];
            if (separator == ',')
            {
                continue;
            }
            if (separator == '\r')
            {
                if (position >= _end || text[position] != '\n')
                {
                    throw new ScanFormatException(Row, null, "a bare CR: lines end with CRLF or LF");
                }
                position++;
            }
            _start = position;
            return;
        }
    }

    /// <summary>
    /// The field's text as a string: the same string as the row before's when the value repeats (an
    /// owner, a permission set, an extension, a flag), so most short values of a chunk cost no allocation.
    /// </summary>
    private string Recent(int column, ReadOnlySpan<char> value)
    {
        if (value.Length > RecentMaxChars || column >= _recent.Length)
        {
            return new string(value);
        }
        if (_recent[column] is { } before && value.SequenceEqual(before))
        {
            return before;
        }
        return _recent[column] = new string(value);
    }

    /// <summary>A record that reaches the end of the buffer: the data ended inside it, or it is longer than any real one.</summary>
    private ScanFormatException Unfinished(string whenAtEnd) => _exhausted
        ? new ScanFormatException(Row, ColumnName(_fields.Count), whenAtEnd)
        : new ScanFormatException(Row, null, $"the record is longer than {MaxRecordChars} characters");

    private string? ColumnName(int index) => _header?.NameAt(index);

    internal static long ParseLong(long row, string column, string text)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }
        // Digits that overflow 64 bits are a number, just not one any file has.
        var digits = text.AsSpan().TrimStart('-');
        return digits.Length > 0 && !digits.ContainsAnyExceptInRange('0', '9')
            ? throw new ScanFormatException(row, column, $"'{Shorten(text)}' is too large (more than 64 bits)")
            : throw new ScanFormatException(row, column, $"'{Shorten(text)}' is not a whole number");
    }

    internal static DateTimeOffset ParseTimestamp(long row, string column, string text) =>
        ScanValues.TryParseTimestamp(text, out var value)
            ? value
            : throw new ScanFormatException(row, column, $"'{Shorten(text)}' is not an RFC 3339 timestamp with a zone (e.g. 2025-01-15T10:30:00Z)");

    internal static bool ParseBool(long row, string text) => text switch
    {
        "true" or "1" => true,
        "false" or "0" or "" => false,
        _ => throw new ScanFormatException(row, ScanColumns.IsStub, $"'{Shorten(text)}' is not true or false"),
    };

    internal static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
