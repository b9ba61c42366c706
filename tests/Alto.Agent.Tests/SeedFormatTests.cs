using System.Security.Cryptography;
using System.Text;
using Alto.Scanning;
using Parquet;
using Parquet.Schema;

namespace Alto.Agent.Tests;

/// <summary>
/// Chunks as other scanners write them: the seed's example CSV copied verbatim (eight columns,
/// Windows paths, DOMAIN\user owners, sha256: hashes), columns in another order, Parquet with
/// only the essential columns, and what is refused by name.
/// </summary>
[Trait("Layer", "Unit")]
public sealed class SeedFormatTests
{
    /// <summary>The seed's example, exactly as alto-workflow.md writes it (LF line ends, quoted paths).</summary>
    public const string SeedCsv = """
        file_path,file_size,last_modified,last_accessed,file_extension,permissions,owner,hash
        "C:\Data\docs\report.pdf",5242880,2025-01-15T10:30:00Z,2025-10-20T14:22:00Z,.pdf,rw-r--r--,DOMAIN\user1,sha256:abc123...
        "C:\Data\images\photo.jpg",2097152,2024-11-01T08:15:00Z,2025-10-25T09:00:00Z,.jpg,rw-r--r--,DOMAIN\user2,sha256:def456...

        """;

    [Fact]
    public async Task TheSeedsOwnExampleIsReadOnAWindowsHost()
    {
        var rows = await CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(SeedCsv), PathFlavor.Windows);

        Assert.Equal(2, rows.Count);
        var report = rows[0];
        Assert.Equal(@"C:\Data\docs\report.pdf", report.FilePath);
        Assert.Equal(5_242_880, report.FileSize);
        Assert.Equal(new DateTimeOffset(2025, 1, 15, 10, 30, 0, TimeSpan.Zero), report.LastModified);
        Assert.Equal(new DateTimeOffset(2025, 10, 20, 14, 22, 0, TimeSpan.Zero), report.LastAccessed);
        Assert.Equal("pdf", report.FileExtension);
        Assert.Equal(@"DOMAIN\user1", report.Owner);
        Assert.Equal("sha256:abc123...", report.Hash);
        Assert.Equal("rw-r--r--", report.Permissions);
        Assert.Equal((PathEncodingKind.Utf8, false, 0L, (DateTimeOffset?)null), (report.PathEncoding, report.IsStub, report.FileId, report.Ctime));
        Assert.Equal(("jpg", @"DOMAIN\user2"), (rows[1].FileExtension, rows[1].Owner));
    }

    [Fact]
    public async Task TheSeedsWindowsPathsAreRefusedOnAPosixHostNamingTheColumn()
    {
        var error = await Assert.ThrowsAsync<ScanFormatException>(() => CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(SeedCsv), PathFlavor.Posix));
        Assert.Equal((1L, ScanColumns.FilePath), (error.Row, error.Column));
    }

    [Fact]
    public async Task ColumnsAreFoundByNameInAnyOrderAndTheExtensionComesFromTheName()
    {
        const string csv = "last_accessed,owner,file_size,file_path,last_modified\n2025-10-20T14:22:00Z,ann,10,/srv/Notes.MD,2025-01-15T10:30:00Z\n";
        var row = Assert.Single(await CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(csv)));
        Assert.Equal(("/srv/Notes.MD", 10L, "ann", "md", ""), (row.FilePath, row.FileSize, row.Owner, row.FileExtension, row.Permissions));
    }

    [Fact]
    public async Task AChunkSavedWithAByteOrderMarkIsReadAsTheSame()
    {
        var rows = await CsvScanReader.ReadAllAsync([.. "\uFEFF"u8.ToArray(), .. Encoding.UTF8.GetBytes(SeedCsv)], PathFlavor.Windows);
        Assert.Equal(2, rows.Count);
    }

    [Theory]
    [InlineData("file_path,file_size,last_modified,last_accessed,colour\n", "colour")]
    [InlineData("file_path,file_size,last_modified\n", "last_accessed")]
    [InlineData("file_path,file_size,last_modified,last_accessed,file_size\n", "twice")]
    public async Task UnknownMissingOrRepeatedColumnsAreRefusedByName(string header, string named)
    {
        var error = await Assert.ThrowsAsync<ScanFormatException>(() => CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(header)));
        Assert.Equal(0, error.Row);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("99999999999999999999", "too large")]
    [InlineData("12kB", "not a whole number")]
    public async Task ASizeThatIsNotA64BitNumberSaysWhy(string size, string message)
    {
        var csv = $"file_path,file_size,last_modified,last_accessed\n/a,{size},2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n";
        var error = await Assert.ThrowsAsync<ScanFormatException>(() => CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(csv)));
        Assert.Equal(ScanColumns.FileSize, error.Column);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARecordLongerThanAnyRealOneIsRefusedNotBuffered()
    {
        var csv = "file_path,file_size,last_modified,last_accessed\n/" + new string('a', CsvScanReader.MaxRecordChars * 3) + ",1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n";
        var error = await Assert.ThrowsAsync<ScanFormatException>(() => CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(csv)));
        Assert.Contains("longer than", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManyRowsStreamThroughTheBufferIntact()
    {
        var text = new StringBuilder("file_path,file_size,last_modified,last_accessed\r\n");
        for (var i = 0; i < 20_000; i++)
        {
            text.Append("\"/srv/data/file, ").Append(i).Append(".txt\",").Append(i).Append(",2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\r\n");
        }
        var rows = await CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(text.ToString()));
        Assert.Equal(20_000, rows.Count);
        Assert.Equal(Enumerable.Range(0, 20_000).Select(i => ($"/srv/data/file, {i}.txt", (long)i)), rows.Select(r => (r.FilePath, r.FileSize)));
    }

    /// <summary>
    /// What editors and scripts leave around the records: a last newline too many, a blank line
    /// between records, Windows PowerShell's #TYPE line before the header. None of it is a record.
    /// </summary>
    [Theory]
    [InlineData("file_path,file_size,last_modified,last_accessed\n/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n\n")]
    [InlineData("file_path,file_size,last_modified,last_accessed\r\n/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\r\n\r\n\r\n")]
    [InlineData("\nfile_path,file_size,last_modified,last_accessed\n\n/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z")]
    [InlineData("#TYPE Selected.System.IO.FileInfo\r\n\"file_path\",\"file_size\",\"last_modified\",\"last_accessed\"\r\n\"/a\",\"1\",\"2025-01-15T10:30:00Z\",\"2025-01-15T10:30:00Z\"\r\n")]
    [InlineData("\uFEFF#TYPE System.Management.Automation.PSCustomObject\r\nfile_path,file_size,last_modified,last_accessed\r\n/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\r\n")]
    public async Task BlankLinesAndPowerShellsTypeLineAreNotRecords(string csv)
    {
        var row = Assert.Single(await CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(csv)));
        Assert.Equal(("/a", 1L), (row.FilePath, row.FileSize));
    }

    [Fact]
    public async Task ABlankLineDoesNotCountAsARowInAnError()
    {
        const string csv = "file_path,file_size,last_modified,last_accessed\n/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n\n/b,x,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n";
        var error = await Assert.ThrowsAsync<ScanFormatException>(() => CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(csv)));
        Assert.Equal((2L, ScanColumns.FileSize), (error.Row, error.Column));
    }

    /// <summary>UTF-16, as Windows PowerShell's Out-File and "&gt;" write text, is refused saying so rather than as unknown columns.</summary>
    [Theory]
    [InlineData(true, "the body is UTF-16 text (it begins with UTF-16's byte-order mark); send UTF-8 (Windows PowerShell: Export-Csv -Encoding UTF8)")]
    [InlineData(false, "the header holds NUL characters: UTF-16 text without its byte-order mark? send UTF-8")]
    public async Task Utf16TextIsRefusedSayingSo(bool withByteOrderMark, string message)
    {
        var csv = new UnicodeEncoding(bigEndian: false, byteOrderMark: withByteOrderMark);
        var body = csv.GetPreamble().Concat(csv.GetBytes("file_path,file_size,last_modified,last_accessed\r\n/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\r\n")).ToArray();

        var error = await Assert.ThrowsAsync<ScanFormatException>(() => CsvScanReader.ReadAllAsync(body));

        Assert.Equal("row 0: " + message, error.Message);
    }

    [Fact]
    public async Task AParquetChunkWithOnlyTheEssentialColumnsIsRead()
    {
        var path = new DataField<string>("file_path");
        var size = new DataField<long>("file_size");
        var modified = new DataField<DateTime>("last_modified");
        var accessed = new DataField<DateTime>("last_accessed");
        var owner = new DataField<string>("owner");
        var when = new DateTime(2025, 1, 15, 10, 30, 0, DateTimeKind.Utc);
        var file = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(owner, accessed, path, size, modified), file))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(owner, [@"DOMAIN\user1"]);
            await group.WriteAsync<DateTime>(accessed, new[] { when.AddDays(3) });
            await group.WriteAsync(path, [@"C:\Data\docs\report.pdf"]);
            await group.WriteAsync<long>(size, new[] { 5_242_880L });
            await group.WriteAsync<DateTime>(modified, new[] { when });
        }
        file.Position = 0;

        var row = Assert.Single(await ParquetScanFormat.ReadAllAsync(file, PathFlavor.Windows, CancellationToken.None));
        Assert.Equal((@"C:\Data\docs\report.pdf", 5_242_880L, @"DOMAIN\user1", "pdf"), (row.FilePath, row.FileSize, row.Owner, row.FileExtension));
        Assert.Equal(new DateTimeOffset(when.AddDays(3)), row.LastAccessed);
    }

    [Fact]
    public async Task AParquetColumnOfTheWrongTypeIsRefusedByNameInTheFormatsTerms()
    {
        var path = new DataField<string>("file_path");
        var size = new DataField<double>("file_size");
        var modified = new DataField<DateTime>("last_modified");
        var accessed = new DataField<DateTime>("last_accessed");
        var file = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(path, size, modified, accessed), file))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(path, ["/a"]);
            await group.WriteAsync<double>(size, new[] { 12.5 });
            await group.WriteAsync<DateTime>(modified, new[] { DateTime.UtcNow });
            await group.WriteAsync<DateTime>(accessed, new[] { DateTime.UtcNow });
        }
        file.Position = 0;

        var error = await Assert.ThrowsAsync<ScanFormatException>(() => ParquetScanFormat.ReadAllAsync(file, PathFlavor.Posix, CancellationToken.None));
        Assert.Equal(ScanColumns.FileSize, error.Column);
        Assert.Equal("row 0, column file_size: the column file_size must hold integer values (or whole numbers as UTF-8 text), not fractional numbers", error.Message);
    }

    /// <summary>
    /// The seed's chunk as DuckDB and Arrow's Rust writer put it in Parquet (tests/fixtures/parquet):
    /// typed, every column as text, the narrowest types, dictionary pages. Each reads as the CSV does.
    /// </summary>
    [Theory]
    [InlineData("duckdb-typed.parquet")]
    [InlineData("duckdb-all-text.parquet")]
    [InlineData("duckdb-narrow-types.parquet")]
    [InlineData("arrow-rs-dictionary-zstd.parquet")]
    public async Task TheSeedsChunkWrittenAsParquetByOtherToolsReadsAsItsCsv(string fixture)
    {
        var (expected, rows) = await SeedAndParquetFixtureAsync(fixture);

        Assert.Equal(
            expected.Select(row => (row.FilePath, row.FileSize, row.LastModified, row.LastAccessed, row.FileExtension, row.Permissions, row.Owner, row.Hash)),
            rows.Select(row => (row.FilePath, row.FileSize, row.LastModified, row.LastAccessed, row.FileExtension, row.Permissions, row.Owner, row.Hash)));
        if (fixture == "duckdb-narrow-types.parquet")
        {
            Assert.Equal([(1L, false), (2L, false)], rows.Select(row => (row.FileId, row.IsStub)));
            Assert.Equal(expected.Select(row => (DateTimeOffset?)row.LastModified), rows.Select(row => row.Ctime));
        }
    }

    [Theory]
    [InlineData("refused-epoch-number-time.parquet", "last_modified", "row 0, column last_modified: the column last_modified must hold timestamp values (or RFC 3339 times with a zone as UTF-8 text), not 64-bit integers (a bare number's unit cannot be known)")]
    [InlineData("refused-size-as-words.parquet", "file_size", "row 1, column file_size: '5 MB' is not a whole number")]
    [InlineData("refused-size-beyond-63-bits.parquet", "file_size", "row 1, column file_size: '18446744073709551615' is too large (more than 63 bits)")]
    [InlineData("refused-size-as-double.parquet", "file_size", "row 0, column file_size: the column file_size must hold integer values (or whole numbers as UTF-8 text), not fractional numbers")]
    [InlineData("refused-hash-as-number.parquet", "hash", "row 1, column hash: the column hash must hold UTF-8 string values, not 32-bit integers")]
    public async Task AParquetChunkFromAnotherToolWithABadColumnIsRefusedNamingIt(string fixture, string column, string message)
    {
        await using var file = File.OpenRead(ParquetFixture(fixture));

        var error = await Assert.ThrowsAsync<ScanFormatException>(() => ParquetScanFormat.ReadAllAsync(file, PathFlavor.Windows, CancellationToken.None));

        Assert.Equal((column, message), (error.Column, error.Message));
    }

    /// <summary>DuckDB and Arrow type a column of nothing but nulls as 32-bit integers: an optional column so is taken as absent.</summary>
    [Theory]
    [InlineData("duckdb-null-columns.parquet")]
    [InlineData("arrow-rs-null-columns.parquet")]
    public async Task AnOptionalColumnOfNothingButNullsIsTakenAsAbsentWhateverItsType(string fixture)
    {
        var (expected, rows) = await SeedAndParquetFixtureAsync(fixture);

        Assert.Equal(
            expected.Select(row => (row.FilePath, row.FileSize, row.LastModified, row.LastAccessed, row.FileExtension, "", (string?)null)),
            rows.Select(row => (row.FilePath, row.FileSize, row.LastModified, row.LastAccessed, row.FileExtension, row.Owner, row.Hash)));
    }

    /// <summary>The seed's CSV as read on a Windows host, and the rows of a Parquet fixture made from it.</summary>
    private static async Task<(List<ScanRecord> Csv, List<ScanRecord> Parquet)> SeedAndParquetFixtureAsync(string fixture)
    {
        var csv = await CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(SeedCsv), PathFlavor.Windows);
        await using var file = File.OpenRead(ParquetFixture(fixture));
        return (csv, await ParquetScanFormat.ReadAllAsync(file, PathFlavor.Windows, CancellationToken.None));
    }

    private static string ParquetFixture(string name) => Alto.TestSupport.RepositoryPaths.Fixture("parquet", name);

    [Theory]
    [InlineData(ChunkCompressionKind.Zstd)]
    [InlineData(ChunkCompressionKind.Gzip)]
    [InlineData(ChunkCompressionKind.None)]
    public async Task TheDecodeStreamsDigestIsTheSha256OfTheContent(ChunkCompressionKind kind)
    {
        var content = Encoding.UTF8.GetBytes(SeedCsv + Guid.NewGuid());
        await using var decoded = new ChunkDecodeStream(new MemoryStream(ChunkCompression.Compress(content, kind)), kind, 1 << 20);
        await decoded.CopyToAsync(Stream.Null);
        Assert.Equal(SHA256.HashData(content), decoded.Digest);
    }

    [Theory]
    [InlineData(@"C:\Data\docs\report.pdf", @"C:\Data\docs\report.pdf")]
    [InlineData(@"c:/Data//docs/report.pdf", @"C:\Data\docs\report.pdf")]
    [InlineData(@"C:\", @"C:\")]
    [InlineData(@"C:\Data\", @"C:\Data")]
    [InlineData(@"\\fileserver\share\Data\x.txt", @"\\fileserver\share\Data\x.txt")]
    [InlineData(@"//fileserver/share/Data", @"\\fileserver\share\Data")]
    [InlineData(@"\\?\C:\Long\path.txt", @"C:\Long\path.txt")]
    [InlineData(@"\\?\UNC\srv\share\a.txt", @"\\srv\share\a.txt")]
    [InlineData(@"Data\report.pdf", null)]
    [InlineData(@"/srv/data", null)]
    [InlineData(@"C:\Data\..\Windows", null)]
    [InlineData(@"C:\Data\a?b", null)]
    [InlineData(@"\\server", null)]
    public void WindowsPathsHaveOneStoredForm(string path, string? canonical) =>
        Assert.Equal(canonical, PathFlavor.Windows.Canonical(path));

    /// <summary>
    /// POSIX files as other scanners write their paths: repeated and trailing slashes are the same
    /// file to the file system and are dropped; "." and ".." parts are refused (a row naming
    /// /srv/home/../secret would be judged by rules as a home folder's file and be another).
    /// </summary>
    [Theory]
    [InlineData("/srv/data/report.pdf", "/srv/data/report.pdf")]
    [InlineData("/", "/")]
    [InlineData("//srv//data///report.pdf", "/srv/data/report.pdf")]
    [InlineData("/srv/data/", "/srv/data")]
    [InlineData("///", "/")]
    [InlineData(@"/srv/back\slash name ", @"/srv/back\slash name ")]
    [InlineData("/srv/.hidden/..dots...", "/srv/.hidden/..dots...")]
    [InlineData("/srv/home/../secret/a.txt", null)]
    [InlineData("/srv/./a.txt", null)]
    [InlineData("/srv/..", null)]
    [InlineData("/.", null)]
    [InlineData("srv/a.txt", null)]
    [InlineData("", null)]
    [InlineData(@"C:\Data.txt", null)]
    public void PosixFilePathsHaveOneStoredForm(string path, string? canonical) =>
        Assert.Equal(canonical, PathFlavor.Posix.CanonicalFile(path));

    [Fact]
    public async Task APosixRowWithADotDotPartIsRefusedNamingThePath()
    {
        const string csv = "file_path,file_size,last_modified,last_accessed\n/srv/ok.txt,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n/srv/home/../secret/a.txt,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z\n";
        var error = await Assert.ThrowsAsync<ScanFormatException>(() => CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(csv)));
        Assert.Equal((2L, ScanColumns.FilePath), (error.Row, error.Column));
        Assert.Contains("/srv/home/../secret/a.txt", error.Message, StringComparison.Ordinal);
    }
}
