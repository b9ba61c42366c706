using System.Text;
using Alto.Scanning;
using Alto.TestSupport;

namespace Alto.Agent.Tests;

[Trait("Layer", "Unit")]
public sealed class ScanFormatTests
{
    private static readonly DateTimeOffset When = new(2025, 1, 15, 10, 30, 0, TimeSpan.Zero);

    public static TheoryData<byte[]> Paths()
    {
        var data = new TheoryData<byte[]>();
        data.Add(Encoding.UTF8.GetBytes("/srv/data/report.pdf"));
        data.Add(Encoding.UTF8.GetBytes("/srv/données/été 2025, \"final\".docx"));
        data.Add(Encoding.UTF8.GetBytes("/srv/back\\slash/emoji-😀.txt"));
        data.Add([.. "/srv/latin1-"u8, 0xE9, .. ".txt"u8]);
        data.Add([.. "/srv/"u8, 0xFF, 0xFE, (byte)'\\', (byte)'x', (byte)'4', (byte)'1']);
        data.Add([.. "/srv/truncated-"u8, 0xE2, 0x82]);
        return data;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void PathsRoundTripExactly(byte[] path)
    {
        var (text, kind) = PathEncoding.Encode(path);
        Assert.Equal(path, PathEncoding.Decode(text, kind));
        Assert.Equal(System.Text.Unicode.Utf8.IsValid(path) ? PathEncodingKind.Utf8 : PathEncodingKind.Escaped, kind);
    }

    [Fact]
    public void AnInvalidByteIsWrittenAsHex() =>
        Assert.Equal(@"/srv/caf\xE9\x5C.txt", PathEncoding.Encode([.. "/srv/caf"u8, 0xE9, (byte)'\\', .. ".txt"u8]).Text);

    [Fact]
    public async Task CsvAndParquetCarryTheSameRows()
    {
        var rows = SampleRows();

        var csv = new MemoryStream();
        using (var writer = new CsvScanWriter(csv))
        {
            foreach (var row in rows)
            {
                writer.Write(row);
            }
        }
        var parquet = new MemoryStream();
        await ParquetScanFormat.WriteAsync(parquet, rows, CancellationToken.None);
        parquet.Position = 0;

        Assert.Equal(rows, await CsvScanReader.ReadAllAsync(csv.ToArray()));
        Assert.Equal(rows, await ParquetScanFormat.ReadAllAsync(parquet, PathFlavor.Posix, CancellationToken.None));
    }

    [Theory]
    [InlineData("/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,utf8", 1, null, "expected 13 columns")]
    [InlineData("\"/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,utf8,1", 1, "file_path", "unterminated")]
    [InlineData("/a,1,yesterday,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,utf8,1", 1, "last_modified", "RFC 3339")]
    [InlineData("/a,1,2025-01-15 10:30:00,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,utf8,1", 1, "last_modified", "RFC 3339")]
    [InlineData("/a,-5,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,utf8,1", 1, "file_size", "negative")]
    [InlineData("/a,big,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,utf8,1", 1, "file_size", "whole number")]
    [InlineData("/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,maybe,utf8,1", 1, "is_stub", "true or false")]
    [InlineData("/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,latin1,1", 1, "path_encoding", "utf8 or escaped")]
    [InlineData(@"/a\q,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,escaped,1", 1, "file_path", "xHH")]
    [InlineData(",1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,utf8,1", 1, "file_path", "empty")]
    [InlineData("relative/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,utf8,1", 1, "file_path", "absolute")]
    [InlineData("/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,utf8,0", 1, "links", "not between 1 and")]
    [InlineData("/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,utf8,-2", 1, "links", "not between 1 and")]
    [InlineData("/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,utf8,2147483648", 1, "links", "not between 1 and")]
    [InlineData("/a,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,.a,rw-r--r--,root,,,1,false,utf8,two", 1, "links", "whole number")]
    public async Task MalformedRowsNameTheirRowAndColumn(string line, long row, string? column, string message)
    {
        var csv = string.Join(',', ScanColumns.All) + "\r\n"
            + "/ok,1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,,rw-r--r--,root,,,1,false,utf8,1\r\n" + line + "\r\n";

        var error = await Assert.ThrowsAsync<ScanFormatException>(() => CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(csv)));

        Assert.Equal(row + 1, error.Row);
        Assert.Equal(column, error.Column);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOverLongPathIsRefused()
    {
        var csv = string.Join(',', ScanColumns.All) + "\r\n/" + new string('a', ScanColumns.MaxPathLength)
            + ",1,2025-01-15T10:30:00Z,2025-01-15T10:30:00Z,,rw-r--r--,root,,,1,false,utf8,1\r\n";
        var error = await Assert.ThrowsAsync<ScanFormatException>(() => CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(csv)));
        Assert.Equal(("file_path", 1L), (error.Column, error.Row));
    }

    [Theory]
    [InlineData("")]
    [InlineData("path,size\r\n")]
    public async Task AMissingOrWrongHeaderIsRefused(string csv) =>
        await Assert.ThrowsAsync<ScanFormatException>(() => CsvScanReader.ReadAllAsync(Encoding.UTF8.GetBytes(csv)));

    [Theory]
    [InlineData(ChunkCompressionKind.Zstd)]
    [InlineData(ChunkCompressionKind.Gzip)]
    [InlineData(ChunkCompressionKind.None)]
    public async Task ChunksRoundTripThroughCompression(ChunkCompressionKind kind)
    {
        var data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("/srv/data/file.txt,1\r\n", 5000)));
        var compressed = ChunkCompression.Compress(data, kind);
        using var back = await ChunkCompression.DecompressAsync(new MemoryStream(compressed), kind, 1 << 20, CancellationToken.None);
        Assert.Equal(data, back.ToArray());
    }

    [Theory]
    [InlineData(ChunkCompressionKind.Zstd)]
    [InlineData(ChunkCompressionKind.Gzip)]
    public async Task TruncatedCompressedDataIsCorrupt(ChunkCompressionKind kind)
    {
        var compressed = ChunkCompression.Compress(Encoding.UTF8.GetBytes(new string('x', 100_000) + Guid.NewGuid()), kind);
        var truncated = compressed[..(compressed.Length / 2)];
        await Assert.ThrowsAsync<ChunkCorruptException>(() =>
            ChunkCompression.DecompressAsync(new MemoryStream(truncated), kind, 1 << 20, CancellationToken.None));
    }

    [Theory]
    [InlineData(ChunkCompressionKind.Zstd)]
    [InlineData(ChunkCompressionKind.Gzip)]
    public async Task ADecompressionBombStopsAtTheLimit(ChunkCompressionKind kind)
    {
        // 64 MiB of zeros compress to well under a megabyte.
        var bomb = ChunkCompression.Compress(new byte[64 << 20], kind);
        Assert.True(bomb.Length < 1 << 20, $"{bomb.Length} bytes");
        await Assert.ThrowsAsync<ChunkTooLargeException>(() =>
            ChunkCompression.DecompressAsync(new MemoryStream(bomb), kind, 8 << 20, CancellationToken.None));
    }

    /// <summary>
    /// A Parquet chunk whose footer is whole but whose pages are damaged (a disk, a proxy, a
    /// scanner's bug): every damage is refused as a bad chunk (a 400 at the gateway), never an
    /// error of another kind, which the gateway would answer with a 500.
    /// </summary>
    [Fact]
    public async Task AParquetChunkWithDamagedPagesIsRefusedAsABadChunk()
    {
        var rows = Enumerable.Range(0, 2_000)
            .Select(i => new ScanRecord($"/srv/data/folder-{i / 100}/file-{i}.bin", i * 1_000L, When.AddSeconds(i), When.AddSeconds(2 * i), "bin",
                "rw-r--r--", "user" + (i % 7), i % 3 == 0 ? null : "sha256:" + i, When, i, false, PathEncodingKind.Utf8))
            .ToList();
        var whole = new MemoryStream();
        await ParquetScanFormat.WriteAsync(whole, rows, CancellationToken.None);
        var bytes = whole.ToArray();
        // The data pages lie between the leading magic and the footer (its length is the 4 bytes before the trailing magic).
        var footer = BitConverter.ToInt32(bytes, bytes.Length - 8) + 8;
        var random = new Random(20261205);
        var kinds = new Dictionary<string, int>();
        for (var attempt = 0; attempt < 300; attempt++)
        {
            var (damaged, at) = ByteDamage.Apply(bytes, random, longestRun: 16, from: 4, to: bytes.Length - footer - 16);
            try
            {
                await ParquetScanFormat.ReadAllAsync(new MemoryStream(damaged), PathFlavor.Posix, CancellationToken.None);
                kinds["read"] = kinds.GetValueOrDefault("read") + 1;
            }
            catch (ScanFormatException)
            {
                kinds["refused"] = kinds.GetValueOrDefault("refused") + 1;
            }
            catch (Exception exception)
            {
                Assert.Fail($"damage at byte {at} gave {exception.GetType().Name}: {exception.Message}");
            }
        }
        Assert.True(kinds.GetValueOrDefault("refused") > 0, string.Join(", ", kinds));
    }

    /// <summary>The same for CSV: bytes damaged anywhere give a row that reads or a bad chunk, nothing else.</summary>
    [Fact]
    public async Task ACsvChunkDamagedAnywhereReadsOrIsRefusedAsABadChunk()
    {
        var csv = new MemoryStream();
        using (var writer = new CsvScanWriter(csv))
        {
            foreach (var row in SampleRows().Concat(SampleRows()).Concat(SampleRows()))
            {
                writer.Write(row);
            }
        }
        var bytes = csv.ToArray();
        var random = new Random(5122026);
        var refused = 0;
        for (var attempt = 0; attempt < 2_000; attempt++)
        {
            var (damaged, at) = ByteDamage.Apply(bytes, random, longestRun: 4);
            try
            {
                await CsvScanReader.ReadAllAsync(damaged);
            }
            catch (ScanFormatException)
            {
                refused++;
            }
            catch (Exception exception)
            {
                Assert.Fail($"damage at byte {at} gave {exception.GetType().Name}: {exception.Message}");
            }
        }
        Assert.True(refused > 0);
    }

    private static List<ScanRecord> SampleRows()
    {
        var escaped = PathEncoding.Encode([.. "/srv/caf"u8, 0xE9, .. ".txt"u8]);
        return
        [
            new("/srv/data/report.pdf", 5_242_880, When, When.AddDays(3), "pdf", "rw-r--r--", "alice", null, When.AddDays(-1), 42, false, PathEncodingKind.Utf8, Links: 30),
            new("/srv/data/with, comma \"and quotes\"\nnewline.txt", 0, When, When, "txt", "rw-------", "bob", "sha256:ab", null, 43, true, PathEncodingKind.Utf8),
            new(escaped.Text, 7, When.AddTicks(1234567), When, "txt", "rwsr-xr-x", "1001", null, When, 44, false, escaped.Kind),
        ];
    }
}
