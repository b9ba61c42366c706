using System.Text;
using Alto.Gateway.Scans;
using Alto.TestSupport;
using NpgsqlTypes;

namespace Alto.Gateway.Tests;

/// <summary>
/// The staging COPY's own binary encoding, checked against PostgreSQL itself: the same values
/// copied with Npgsql's importer and with <see cref="BinaryCopyRows"/> into one table must read
/// back identical, edge values included (before 2000, sub-microsecond ticks, several blocks).
/// </summary>
public sealed class BinaryCopyRowsTests : IAsyncLifetime
{
    private const string Columns = "(source, n, id, day, small, big, flag, words, at, maybe_at)";
    private TestDatabase _database = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync("binary_copy");
        await _database.ExecuteAsync("""
            CREATE TABLE copied (source text, n int, id uuid, day date, small int, big bigint, flag boolean, words text,
                                 at timestamptz, maybe_at timestamptz)
            """);
    }

    public async Task DisposeAsync() => await _database.DisposeAsync();

    private static readonly (Guid Id, DateOnly Day, int Small, long Big, bool Flag, string? Words, DateTimeOffset At, DateTimeOffset? MaybeAt)[] Values =
    [
        (Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"), new DateOnly(2000, 1, 1), 0, 0, false, "", DateTimeOffset.UnixEpoch, null),
        (Guid.Parse("ffeeddcc-bbaa-9988-7766-554433221100"), new DateOnly(1999, 12, 31), -1, long.MinValue, true, "/srv/日本/ファイル.txt",
            new DateTimeOffset(1999, 12, 31, 23, 59, 59, TimeSpan.Zero).AddTicks(1_234_567), new DateTimeOffset(1970, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(-7)),
        (Guid.NewGuid(), new DateOnly(2026, 12, 3), int.MaxValue, long.MaxValue, true, "emoji 🗄️ and \\x41 \"quoted\", comma",
            new DateTimeOffset(2026, 12, 3, 17, 45, 12, TimeSpan.Zero).AddTicks(1_234_567), new DateTimeOffset(2100, 2, 28, 0, 0, 0, TimeSpan.Zero)),
        (Guid.Empty, new DateOnly(1, 1, 2), int.MinValue, -1, false, null, new DateTimeOffset(1601, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(3), null),
        (Guid.NewGuid(), new DateOnly(9999, 12, 30), 42, 1L << 40, true, new string('p', 16_384),
            new DateTimeOffset(2024, 2, 29, 12, 0, 0, TimeSpan.FromHours(5)), new DateTimeOffset(2024, 2, 29, 7, 0, 0, TimeSpan.Zero)),
    ];

    [Fact]
    public async Task RowsReadBackAsNpgsqlsOwnImporterWritesThem()
    {
        // Enough rows that the buffer goes to the server in several blocks, not only at the end.
        const int repeats = 200;
        await using (var connection = await _database.DataSource.OpenConnectionAsync())
        await using (var importer = await connection.BeginBinaryImportAsync($"COPY copied {Columns} FROM STDIN (FORMAT BINARY)"))
        {
            for (var n = 0; n < repeats * Values.Length; n++)
            {
                var v = Values[n % Values.Length];
                await importer.StartRowAsync();
                await importer.WriteAsync("npgsql", NpgsqlDbType.Text);
                await importer.WriteAsync(n, NpgsqlDbType.Integer);
                await importer.WriteAsync(v.Id, NpgsqlDbType.Uuid);
                await importer.WriteAsync(v.Day, NpgsqlDbType.Date);
                await importer.WriteAsync(v.Small, NpgsqlDbType.Integer);
                await importer.WriteAsync(v.Big, NpgsqlDbType.Bigint);
                await importer.WriteAsync(v.Flag, NpgsqlDbType.Boolean);
                await importer.WriteAsync(v.Words, NpgsqlDbType.Text);
                // Npgsql takes UTC offsets only; the staging writer converts any offset.
                await importer.WriteAsync(v.At.ToUniversalTime(), NpgsqlDbType.TimestampTz);
                await importer.WriteAsync(v.MaybeAt, NpgsqlDbType.TimestampTz);
            }
            await importer.CompleteAsync();
        }

        await using (var connection = await _database.DataSource.OpenConnectionAsync())
        await using (var copy = await connection.BeginRawBinaryCopyAsync($"COPY copied {Columns} FROM STDIN (FORMAT BINARY)"))
        {
            using var rows = new BinaryCopyRows(copy);
            rows.Header();
            for (var n = 0; n < repeats * Values.Length; n++)
            {
                var v = Values[n % Values.Length];
                rows.StartRow(10);
                rows.Text("ours");
                rows.Int4(n);
                rows.Uuid(v.Id);
                rows.Date(v.Day);
                rows.Int4(v.Small);
                rows.Bigint(v.Big);
                rows.Boolean(v.Flag);
                rows.Text(v.Words);
                rows.TimestampTz(v.At);
                rows.TimestampTz(v.MaybeAt);
                await rows.FlushAsync(CancellationToken.None);
            }
            rows.Trailer();
            await rows.FlushAsync(CancellationToken.None, all: true);
        }

        Assert.Equal(2L * repeats * Values.Length, await _database.CountAsync("SELECT count(*) FROM copied"));
        // Every row of ours equals Npgsql's row of the same number, column for column (NULLs included).
        Assert.Equal(0L, await _database.CountAsync("""
            SELECT count(*) FROM copied o FULL JOIN copied n ON n.source = 'npgsql' AND o.n = n.n
            WHERE o.source = 'ours' AND (n.n IS NULL OR (o.id, o.day, o.small, o.big, o.flag, o.words, o.at, o.maybe_at)
                                         IS DISTINCT FROM (n.id, n.day, n.small, n.big, n.flag, n.words, n.at, n.maybe_at))
            """));
        // And the values are the ones meant, not merely the same on both sides (ticks before 2000 round
        // toward it, .1234567 to .123457, as Npgsql's own division does).
        Assert.Equal("1999-12-31 23:59:59.123457+00", await _database.ScalarAsync<string>(
            "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' FROM copied WHERE source = 'ours' AND n = 1"));
        Assert.Equal("ffeeddcc-bbaa-9988-7766-554433221100", await _database.ScalarAsync<string>("SELECT id::text FROM copied WHERE source = 'ours' AND n = 1"));
        Assert.Equal("/srv/日本/ファイル.txt", await _database.ScalarAsync<string>("SELECT words FROM copied WHERE source = 'ours' AND n = 1"));
        Assert.Equal("2024-02-29 07:00:00", await _database.ScalarAsync<string>(
            "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM copied WHERE source = 'ours' AND n = 4"));
    }

    [Fact]
    public void TextThatIsNotValidUtf16IsRefusedNotAltered()
    {
        using var rows = new BinaryCopyRows(Stream.Null);
        Assert.Throws<EncoderFallbackException>(() => rows.Text("lone \ud800 surrogate"));
    }
}
