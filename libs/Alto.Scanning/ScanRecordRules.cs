namespace Alto.Scanning;

/// <summary>
/// The checks every row passes whatever its format; builds the record in its stored form (the
/// path canonical for the host's flavour, the extension lower case without its dot, taken from
/// the name when the chunk has none) or names the bad column.
/// </summary>
public static class ScanRecordRules
{
    public static ScanRecord Build(
        long row, PathFlavor flavor, string path, long size, DateTimeOffset modified, DateTimeOffset accessed, string extension,
        string permissions, string owner, string? hash, DateTimeOffset? ctime, long fileId, bool isStub, string encoding, long links)
    {
        if (path.Length == 0)
        {
            throw new ScanFormatException(row, ScanColumns.FilePath, "the path is empty");
        }
        if (path.Length > ScanColumns.MaxPathLength)
        {
            throw new ScanFormatException(row, ScanColumns.FilePath, $"the path is longer than {ScanColumns.MaxPathLength} characters");
        }
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ScanFormatException(row, ScanColumns.FilePath, "the path contains a NUL character");
        }
        if (flavor.CanonicalFile(path) is not { } canonical)
        {
            throw new ScanFormatException(row, ScanColumns.FilePath, flavor == PathFlavor.Windows
                ? NotAWindowsPath(path)
                : $"'{CsvScanReader.Shorten(path)}' is not an absolute POSIX path without '.' or '..' parts (/folder/name)");
        }
        path = canonical;
        if (!PathEncoding.TryParseName(encoding, out var kind))
        {
            throw new ScanFormatException(row, ScanColumns.PathEncoding, $"'{CsvScanReader.Shorten(encoding)}' is not utf8 or escaped");
        }
        if (!PathEncoding.IsWellFormed(path, kind))
        {
            throw new ScanFormatException(row, ScanColumns.FilePath, "an escaped path has a backslash not followed by xHH");
        }
        if (size < 0)
        {
            throw new ScanFormatException(row, ScanColumns.FileSize, $"the size {size} is negative");
        }
        if (fileId < 0)
        {
            throw new ScanFormatException(row, ScanColumns.FileId, $"the file id {fileId} is negative");
        }
        if (links is < 1 or > int.MaxValue)
        {
            // A name in a listing is one of its file's links: no file that a scan can see has none.
            throw new ScanFormatException(row, ScanColumns.Links, $"the link count {links} is not between 1 and {int.MaxValue}");
        }
        CheckText(row, ScanColumns.FileExtension, extension);
        CheckText(row, ScanColumns.Permissions, permissions);
        CheckText(row, ScanColumns.Owner, owner);
        CheckText(row, ScanColumns.Hash, hash ?? "");
        extension = PathFlavors.CanonicalExtension(extension.Length > 0 ? extension : ScanValues.Extension(flavor.Split(path).Name));
        return new ScanRecord(path, size, modified, accessed, extension, permissions, owner,
            string.IsNullOrEmpty(hash) ? null : hash, ctime, fileId, isStub, kind, (int)links);
    }

    /// <summary>
    /// Why a Windows path is refused. A '?' in a name (past a \\?\ prefix) is what ASCII text makes
    /// of every letter outside ASCII — Windows PowerShell 5.1's Export-Csv writes ASCII unless told
    /// otherwise — so the admin is told to export again, not that the path is malformed.
    /// </summary>
    private static string NotAWindowsPath(string path)
    {
        var named = path.StartsWith(@"\\?\", StringComparison.Ordinal) || path.StartsWith("//?/", StringComparison.Ordinal) ? path[4..] : path;
        return named.Contains('?', StringComparison.Ordinal)
            ? $"'{CsvScanReader.Shorten(path)}' holds a '?', which Windows does not allow in a name: its letters outside ASCII were lost to ASCII text " +
              "(Windows PowerShell 5.1's Export-Csv writes ASCII unless given -Encoding UTF8); send the list again as UTF-8"
            : $"'{CsvScanReader.Shorten(path)}' is not an absolute Windows path (C:\\folder\\name or \\\\server\\share\\name)";
    }

    private static void CheckText(long row, string column, string value)
    {
        if (value.Length > ScanColumns.MaxTextLength)
        {
            throw new ScanFormatException(row, column, $"longer than {ScanColumns.MaxTextLength} characters");
        }
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ScanFormatException(row, column, "contains a NUL character");
        }
    }
}
