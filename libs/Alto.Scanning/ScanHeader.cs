namespace Alto.Scanning;

/// <summary>
/// Where each known column is in a chunk, read from its header: the seed's four essentials
/// (path, size, modified, accessed) are required, every other known column is optional and may
/// come in any order, and a column Alto does not know is refused by name rather than dropped.
/// </summary>
public sealed class ScanHeader
{
    public static readonly IReadOnlyList<string> Required =
        [ScanColumns.FilePath, ScanColumns.FileSize, ScanColumns.LastModified, ScanColumns.LastAccessed];

    /// <summary>For each of <see cref="ScanColumns.All"/>, its position in the chunk, or -1.</summary>
    private readonly int[] _positions;
    private readonly string[] _names;

    private ScanHeader(int[] positions, string[] names) => (_positions, _names) = (positions, names);

    /// <summary>Reads a header's column names; a missing, unknown or repeated column is a <see cref="ScanFormatException"/>.</summary>
    public static ScanHeader Parse(IReadOnlyList<string> names)
    {
        var positions = Enumerable.Repeat(-1, ScanColumns.All.Count).ToArray();
        for (var i = 0; i < names.Count; i++)
        {
            // A byte-order mark, as spreadsheet programs write one before the first name, is not part of it.
            var name = (i == 0 ? names[i].TrimStart('\uFEFF') : names[i]).Trim();
            var known = IndexOf(name);
            if (known < 0)
            {
                throw new ScanFormatException(0, CsvScanReader.Shorten(name),
                    $"unknown column '{CsvScanReader.Shorten(name)}'; the columns are {string.Join(',', ScanColumns.All)} ({string.Join(", ", Required)} required)");
            }
            if (positions[known] >= 0)
            {
                throw new ScanFormatException(0, name, $"the column {name} appears twice");
            }
            positions[known] = i;
        }
        var missing = Required.Where(column => positions[IndexOf(column)] < 0).ToList();
        if (missing.Count > 0)
        {
            throw new ScanFormatException(0, null, $"the header lacks the required column{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)}");
        }
        return new ScanHeader(positions, [.. names.Select((name, i) => (i == 0 ? name.TrimStart('\uFEFF') : name).Trim())]);
    }

    public string? NameAt(int position) => position < _names.Length ? _names[position] : null;

    /// <summary>The known column a (checked) name stands for, in its own spelling.</summary>
    internal static string KnownName(string name) => ScanColumns.All[IndexOf(name.Trim())];

    /// <summary>Checks one CSV record's text values and builds its row.</summary>
    public ScanRecord Build(long row, IReadOnlyList<string> fields, PathFlavor flavor)
    {
        if (fields.Count != _names.Length)
        {
            throw new ScanFormatException(row, null, $"expected {_names.Length} columns, found {fields.Count}");
        }
        var ctime = Text(fields, At.Ctime);
        var fileId = Text(fields, At.FileId);
        var links = Text(fields, At.Links);
        return ScanRecordRules.Build(row, flavor,
            path: Text(fields, At.FilePath),
            size: CsvScanReader.ParseLong(row, ScanColumns.FileSize, Text(fields, At.FileSize)),
            modified: CsvScanReader.ParseTimestamp(row, ScanColumns.LastModified, Text(fields, At.LastModified)),
            accessed: CsvScanReader.ParseTimestamp(row, ScanColumns.LastAccessed, Text(fields, At.LastAccessed)),
            extension: Text(fields, At.FileExtension),
            permissions: Text(fields, At.Permissions),
            owner: Text(fields, At.Owner),
            hash: Text(fields, At.Hash),
            ctime: ctime.Length == 0 ? null : CsvScanReader.ParseTimestamp(row, ScanColumns.Ctime, ctime),
            fileId: fileId.Length == 0 ? 0 : CsvScanReader.ParseLong(row, ScanColumns.FileId, fileId),
            isStub: CsvScanReader.ParseBool(row, Text(fields, At.IsStub)),
            encoding: Text(fields, At.PathEncoding),
            links: links.Length == 0 ? 1 : CsvScanReader.ParseLong(row, ScanColumns.Links, links));
    }

    /// <summary>The text of a known column (by its place in <see cref="ScanColumns.All"/>), empty when the chunk has none.</summary>
    private string Text(IReadOnlyList<string> fields, int column) => _positions[column] is >= 0 and var position ? fields[position] : "";

    /// <summary>Each column's place in <see cref="ScanColumns.All"/>, found once rather than for every value of every row.</summary>
    private static class At
    {
        public static readonly int FilePath = IndexOf(ScanColumns.FilePath);
        public static readonly int FileSize = IndexOf(ScanColumns.FileSize);
        public static readonly int LastModified = IndexOf(ScanColumns.LastModified);
        public static readonly int LastAccessed = IndexOf(ScanColumns.LastAccessed);
        public static readonly int FileExtension = IndexOf(ScanColumns.FileExtension);
        public static readonly int Permissions = IndexOf(ScanColumns.Permissions);
        public static readonly int Owner = IndexOf(ScanColumns.Owner);
        public static readonly int Hash = IndexOf(ScanColumns.Hash);
        public static readonly int Ctime = IndexOf(ScanColumns.Ctime);
        public static readonly int FileId = IndexOf(ScanColumns.FileId);
        public static readonly int IsStub = IndexOf(ScanColumns.IsStub);
        public static readonly int PathEncoding = IndexOf(ScanColumns.PathEncoding);
        public static readonly int Links = IndexOf(ScanColumns.Links);
    }

    private static int IndexOf(string column)
    {
        for (var i = 0; i < ScanColumns.All.Count; i++)
        {
            if (string.Equals(ScanColumns.All[i], column, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return -1;
    }
}
