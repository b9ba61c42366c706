using Alto.TestSupport;
using Npgsql;

namespace Alto.Gateway.Tests;

/// <summary>
/// Stops the gateway's copy of a chunk into staging in the middle, inside PostgreSQL: a row trigger
/// on the tenant's staged day partition waits, at one given path, for an advisory lock this test
/// holds (the first copy to reach it only). The copy's transaction stays open with whatever it holds until <see cref="ReleaseAsync"/>.
/// </summary>
public sealed class CopyHold : IAsyncDisposable
{
    private readonly TestDatabase _database;
    private readonly NpgsqlConnection _holder;
    private readonly string _partition;
    private readonly string _trigger;
    private readonly long _key;
    private bool _released;

    private CopyHold(TestDatabase database, NpgsqlConnection holder, string partition, string trigger, long key)
    {
        (_database, _holder, _partition, _trigger, _key) = (database, holder, partition, trigger, key);
    }

    /// <summary>Holds copies into today's staging partition of <paramref name="tenantId"/> when they reach <paramref name="path"/>.</summary>
    public static async Task<CopyHold> StartAsync(TestDatabase database, Guid tenantId, string path)
    {
        var key = Random.Shared.NextInt64(2, long.MaxValue); // and key - 1, which only the first copy takes
        var trigger = "hold_" + Guid.NewGuid().ToString("N");
        // Made here as the gateway makes it (ensure_partition), so the trigger is in place before the first row.
        var partition = await database.ScalarAsync<string>($"""
            SELECT 'raw_scans_' || replace('{tenantId}', '-', '') || '_' || to_char(today.day, 'YYYYMMDD')
            FROM (SELECT (now() AT TIME ZONE 'UTC')::date AS day) today, LATERAL scan_staging.ensure_partition('{tenantId}', today.day)
            """);
        var holder = await database.DataSource.OpenConnectionAsync();
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({key})", holder))
        {
            await take.ExecuteNonQueryAsync();
        }
        await database.ExecuteAsync($"""
            CREATE FUNCTION scan_staging.{trigger}() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                -- Only the first copy to reach the path waits (a second one sending the same rows goes through).
                IF NEW.file_path = '{path.Replace("'", "''", StringComparison.Ordinal)}' AND pg_try_advisory_xact_lock({key - 1}) THEN
                    PERFORM pg_advisory_lock({key});
                    PERFORM pg_advisory_unlock({key});
                END IF;
                RETURN NEW;
            END $fn$;
            CREATE TRIGGER {trigger} BEFORE INSERT ON scan_staging.{partition} FOR EACH ROW EXECUTE FUNCTION scan_staging.{trigger}();
            """);
        return new CopyHold(database, holder, partition, trigger, key);
    }

    /// <summary>Waits until a copy stands at the held path (failing if <paramref name="upload"/> ends first).</summary>
    public async Task WaitUntilHeldAsync(Task upload)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await _database.CountAsync(
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'advisory' AND query LIKE 'COPY scan_staging.raw_scans%'") == 0)
        {
            Assert.False(upload.IsCompleted, "the upload ended before its copy reached the held path");
            Assert.True(DateTime.UtcNow < deadline, "no copy reached the held path within 30 s");
            await Task.Delay(50);
        }
    }

    public async Task ReleaseAsync()
    {
        if (!_released)
        {
            _released = true;
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({_key})", _holder);
            await release.ExecuteNonQueryAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ReleaseAsync();
        await _holder.DisposeAsync();
        await _database.ExecuteAsync($"DROP TRIGGER {_trigger} ON scan_staging.{_partition}; DROP FUNCTION scan_staging.{_trigger}()");
    }
}
