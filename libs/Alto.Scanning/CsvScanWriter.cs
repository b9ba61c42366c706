using System.Globalization;
using System.Text;

namespace Alto.Scanning;

/// <summary>Writes scan rows as RFC 4180 CSV (UTF-8, CRLF, a header line, quotes only where needed).</summary>
public sealed class CsvScanWriter : IDisposable
{
    private readonly StreamWriter _writer;

    public CsvScanWriter(Stream output)
    {
        _writer = new StreamWriter(output, new UTF8Encoding(false), bufferSize: 1 << 16, leaveOpen: true) { NewLine = "\r\n" };
        _writer.Write(string.Join(',', ScanColumns.All));
        _writer.Write("\r\n");
    }

    public void Write(ScanRecord row)
    {
        Field(row.FilePath);
        _writer.Write(',');
        Number(row.FileSize);
        _writer.Write(',');
        Timestamp(row.LastModified);
        _writer.Write(',');
        Timestamp(row.LastAccessed);
        _writer.Write(',');
        Field(row.FileExtension);
        _writer.Write(',');
        Field(row.Permissions);
        _writer.Write(',');
        Field(row.Owner);
        _writer.Write(',');
        Field(row.Hash ?? "");
        _writer.Write(',');
        if (row.Ctime is { } ctime)
        {
            Timestamp(ctime);
        }
        _writer.Write(',');
        Number(row.FileId);
        _writer.Write(',');
        _writer.Write(row.IsStub ? "true" : "false");
        _writer.Write(',');
        _writer.Write(PathEncoding.Name(row.PathEncoding));
        _writer.Write(',');
        Number(row.Links);
        _writer.Write("\r\n");
    }

    public void Dispose() => _writer.Dispose();

    private void Number(long value)
    {
        Span<char> buffer = stackalloc char[24];
        value.TryFormat(buffer, out var written, provider: CultureInfo.InvariantCulture);
        _writer.Write(buffer[..written]);
    }

    private void Timestamp(DateTimeOffset value)
    {
        Span<char> buffer = stackalloc char[40];
        _writer.Write(buffer[..ScanValues.FormatTimestamp(value, buffer)]);
    }

    private void Field(string value)
    {
        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            _writer.Write(value);
            return;
        }
        _writer.Write('"');
        _writer.Write(value.Replace("\"", "\"\"", StringComparison.Ordinal));
        _writer.Write('"');
    }
}
