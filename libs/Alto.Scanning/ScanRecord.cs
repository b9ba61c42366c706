namespace Alto.Scanning;

/// <summary>How <see cref="ScanRecord.FilePath"/> spells the path's bytes (see <see cref="PathEncoding"/>).</summary>
public enum PathEncodingKind
{
    /// <summary>The path's bytes are valid UTF-8 and the text is exactly them.</summary>
    Utf8 = 0,
    /// <summary>The path has bytes that are not UTF-8; those bytes and every backslash are written \xHH.</summary>
    Escaped = 1,
}

/// <summary>
/// One file as a scan reports it: the seed's columns (file_path, file_size, last_modified,
/// last_accessed, file_extension, permissions, owner, hash) plus ctime, the file id, whether it
/// is already an Alto stub, how its path is encoded, and how many names (hard links) the file has
/// (<see cref="Links"/>: 1 when the scanner does not say; a file with several is counted once by
/// the capacity figures, each name carrying its share of the bytes).
/// </summary>
public sealed record ScanRecord(
    string FilePath,
    long FileSize,
    DateTimeOffset LastModified,
    DateTimeOffset LastAccessed,
    string FileExtension,
    string Permissions,
    string Owner,
    string? Hash,
    DateTimeOffset? Ctime,
    long FileId,
    bool IsStub,
    PathEncodingKind PathEncoding,
    int Links = 1);

/// <summary>Column names and order of a scan chunk, in CSV headers and Parquet schemas alike.</summary>
public static class ScanColumns
{
    public const string FilePath = "file_path";
    public const string FileSize = "file_size";
    public const string LastModified = "last_modified";
    public const string LastAccessed = "last_accessed";
    public const string FileExtension = "file_extension";
    public const string Permissions = "permissions";
    public const string Owner = "owner";
    public const string Hash = "hash";
    public const string Ctime = "ctime";
    public const string FileId = "file_id";
    public const string IsStub = "is_stub";
    public const string PathEncoding = "path_encoding";
    public const string Links = "links";

    public static readonly IReadOnlyList<string> All =
        [FilePath, FileSize, LastModified, LastAccessed, FileExtension, Permissions, Owner, Hash, Ctime, FileId, IsStub, PathEncoding, Links];

    /// <summary>Longest encoded path accepted, in characters (well above Linux's 4096-byte PATH_MAX, escapes included).</summary>
    public const int MaxPathLength = 16_384;

    public const int MaxTextLength = 1024;
}

/// <summary>A chunk that breaks the format, naming the first bad row (1-based, header excluded) and column.</summary>
public sealed class ScanFormatException(long row, string? column, string message)
    : Exception(column is null ? $"row {row}: {message}" : $"row {row}, column {column}: {message}")
{
    public long Row { get; } = row;

    public string? Column { get; } = column;
}
