using Alto.Scanning;

namespace Alto.Bench.Scale;

/// <summary>
/// One simulated host's scan as the real agent uploads it: CSV chunks in the documented column
/// order (written by the agent's own <see cref="CsvScanWriter"/>), zstd-compressed, 50,000 rows a
/// chunk (the agent's default). One file in ten was last read three years ago (cold); the rest
/// within the last week.
/// </summary>
internal static class SyntheticScan
{
    public const int RowsPerChunk = 50_000;
    public const int ColdEvery = 10;
    private static readonly string[] Extensions = ["pdf", "mov", "docx", "tif"];

    public static bool IsCold(int file) => file % ColdEvery == 0;

    public static int ColdFiles(int files) => (files + ColdEvery - 1) / ColdEvery;

    public static string PathOf(string root, int file) =>
        $"{root}/projects/p{file / 10_000:000}/d{file / 100 % 100:00}/file-{file:0000000}.{Extensions[file % Extensions.Length]}";

    public static byte[][] Chunks(string root, int files, DateTimeOffset now)
    {
        var chunks = new List<byte[]>();
        for (var start = 0; start < files; start += RowsPerChunk)
        {
            using var plain = new MemoryStream();
            using (var writer = new CsvScanWriter(plain))
            {
                for (var file = start; file < Math.Min(files, start + RowsPerChunk); file++)
                {
                    writer.Write(Row(root, file, now));
                }
            }
            chunks.Add(ChunkCompression.Compress(plain.GetBuffer().AsSpan(0, (int)plain.Length), ChunkCompressionKind.Zstd));
        }
        return [.. chunks];
    }

    private static ScanRecord Row(string root, int file, DateTimeOffset now)
    {
        var touched = IsCold(file) ? now.AddDays(-3 * 365).AddSeconds(-file) : now.AddDays(-(file % 7)).AddSeconds(-file % 86_400);
        return new ScanRecord(PathOf(root, file), 65_536 + (file % 997) * 4096L, touched, touched, Extensions[file % Extensions.Length],
            "rw-r--r--", "svc-files", null, touched, file + 1, false, PathEncodingKind.Utf8);
    }
}
