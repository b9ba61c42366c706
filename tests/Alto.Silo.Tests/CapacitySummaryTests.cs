using Alto.TestSupport;
using Npgsql;

namespace Alto.Silo.Tests;

/// <summary>
/// The capacity summaries kept by the inventory's triggers equal a summary computed afresh from the
/// inventory, after each kind of change: access times alone (the trigger's short path, over day
/// and month edges, out-of-range times, deleted files), access times with other columns (the
/// general path), link counts (a name of a hard-linked file counts for its share of the bytes),
/// deletions and columns the summaries do not count.
/// </summary>
public sealed class CapacitySummaryTests : IAsyncLifetime
{
    private static readonly Guid Tenant = Guid.NewGuid();
    private static readonly Guid Host = Guid.NewGuid();
    private TestDatabase _database = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync("capacity");
        await _database.MigrateAsync();
        // 600 files over six folders: access times a day, a month and a year apart (1,000 s before
        // midnight, so small moves cross days), one before 1970 and one past 9999, sizes over
        // every bucket, every third a stub, every seventh deleted, every fifth one of 2 to 4 names of its file.
        await _database.ExecuteAsync($"""
            INSERT INTO alto.tenant (id, name) VALUES ('{Tenant}', 'capacity');
            INSERT INTO alto.host (id, tenant_id, name) VALUES ('{Host}', '{Tenant}', 'capacity');
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, owner, is_stub, deleted_utc, links, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT '{Tenant}', '{Host}', i % 6, 'f' || i, '/srv/d' || (i % 6) || '/f' || i, (i * 7919) % 300000000,
                   CASE WHEN i = 1 THEN -86400 * 3 WHEN i = 2 THEN 300000000000 ELSE 1700000000 - 1000 + (i % 40) * 86400 * (1 + i % 3) END,
                   1690000000 + i * 3600, 1690000000, (ARRAY['pdf', 'JPG', '', 'log'])[1 + i % 4], (ARRAY['alice', 'bob', NULL])[1 + i % 3],
                   i % 3 = 0, CASE WHEN i % 7 = 0 THEN now() END, CASE WHEN i % 5 = 0 THEN 2 + i % 3 ELSE 1 END, 0, 0, now()
            FROM generate_series(1, 600) AS i;
            """);
    }

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task SummariesEqualAFreshSummaryAfterEveryKindOfChange()
    {
        await AssertSummariesFreshAsync("after the insert");

        // Access times alone, as the audit trail writes them: some cross a day or a month, some stay
        // within their day, some go out of range; deleted files among them.
        await _database.ExecuteAsync($"""
            UPDATE alto.file_current SET atime_unix = CASE WHEN file_current_id % 11 = 0 THEN atime_unix + 10
                                                           WHEN file_current_id % 13 = 0 THEN -5
                                                           WHEN file_current_id % 17 = 0 THEN 400000000000
                                                           ELSE atime_unix + 1001 + (file_current_id % 5) * 86400 * 31 END,
                   last_accessed_source = 'lucidlink_audit', atime_updated_utc = now(), updated_utc = now()
            WHERE host_id = '{Host}' AND file_current_id % 2 = 0
            """);
        await AssertSummariesFreshAsync("after access times alone");

        // Access times with a size or a stub flag: the general path.
        await _database.ExecuteAsync($"""
            UPDATE alto.file_current SET atime_unix = atime_unix + 86400 * 40, size_bytes = CASE WHEN file_current_id % 2 = 0 THEN size_bytes + 70000 ELSE size_bytes END,
                   is_stub = CASE WHEN file_current_id % 2 = 1 THEN NOT is_stub ELSE is_stub END
            WHERE host_id = '{Host}' AND file_current_id % 5 = 0
            """);
        await AssertSummariesFreshAsync("after access times with sizes and stubs");

        // Names given or gone elsewhere: the link count alone, and with access times.
        await _database.ExecuteAsync($"""
            UPDATE alto.file_current SET links = CASE WHEN links = 1 THEN 3 ELSE links - 1 END,
                   atime_unix = CASE WHEN file_current_id % 2 = 0 THEN atime_unix + 86400 * 3 ELSE atime_unix END
            WHERE host_id = '{Host}' AND file_current_id % 6 = 1
            """);
        await AssertSummariesFreshAsync("after link counts");

        // Access times while files are deleted and others come back.
        await _database.ExecuteAsync($"""
            UPDATE alto.file_current SET atime_unix = atime_unix + 86400 * 2,
                   deleted_utc = CASE WHEN deleted_utc IS NULL THEN now() END
            WHERE host_id = '{Host}' AND file_current_id % 9 = 0
            """);
        await AssertSummariesFreshAsync("after deletions and returns");

        // Columns the summaries do not count, and an update that changes nothing at all.
        await _database.ExecuteAsync($"UPDATE alto.file_current SET last_accessed_source = 'recall', updated_utc = now() WHERE host_id = '{Host}'");
        await _database.ExecuteAsync($"UPDATE alto.file_current SET atime_unix = atime_unix WHERE host_id = '{Host}' AND file_current_id % 4 = 0");
        await AssertSummariesFreshAsync("after uncounted columns");

        await _database.ExecuteAsync($"DELETE FROM alto.file_current WHERE host_id = '{Host}' AND file_current_id % 8 = 0");
        await AssertSummariesFreshAsync("after rows deleted");
    }

    /// <summary>The kept summary rows (zero rows left out) equal those of a fresh summary of the whole inventory, computed in a transaction that is rolled back.</summary>
    private async Task AssertSummariesFreshAsync(string when)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync();
        var kept = await SummaryAsync(connection, null);
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var recompute = new NpgsqlCommand($"""
            DELETE FROM alto.capacity_summary WHERE host_id = '{Host}';
            DO $$ BEGIN
                EXECUTE format(alto.capacity_sql(), 'SELECT 1 AS sign, f.tenant_id, f.host_id, f.size_bytes, f.is_stub, f.atime_unix, f.mtime_unix, f.file_extension, f.owner, f.dir_id, f.links
                                                     FROM alto.file_current f WHERE f.deleted_utc IS NULL AND f.host_id = ''{Host}''');
            END $$;
            """, connection, transaction))
        {
            await recompute.ExecuteNonQueryAsync();
        }
        var fresh = await SummaryAsync(connection, transaction);
        await transaction.RollbackAsync();
        Assert.True(fresh.Count > 100, $"the fresh summary has only {fresh.Count} rows");
        Assert.True(fresh.SequenceEqual(kept), $"{when}: kept and fresh summaries differ: only kept [{string.Join("; ", kept.Except(fresh))}], only fresh [{string.Join("; ", fresh.Except(kept))}]");
    }

    private static async Task<List<string>> SummaryAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction)
    {
        await using var command = new NpgsqlCommand($"""
            SELECT dimension || '|' || key || '|' || files || '|' || bytes || '|' || stub_files || '|' || stub_bytes
            FROM alto.capacity_summary
            WHERE host_id = '{Host}' AND (files <> 0 OR bytes <> 0 OR stub_files <> 0 OR stub_bytes <> 0)
            """, connection, transaction);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }
        rows.Sort(StringComparer.Ordinal);
        return rows;
    }
}
