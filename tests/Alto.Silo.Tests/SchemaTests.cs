using Alto.TestSupport;

namespace Alto.Silo.Tests;

/// <summary>Facts of the v1 schema that later stages rely on, checked against a real migrated database.</summary>
public sealed class SchemaTests : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync("schema");
        await _database.MigrateAsync();
    }

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Theory]
    [InlineData("InsertMembershipVersionKey")]
    [InlineData("InsertMembershipKey")]
    [InlineData("UpdateMembershipKey")]
    [InlineData("UpdateIAmAlivetimeKey")]
    [InlineData("MembershipReadRowKey")]
    [InlineData("MembershipReadAllKey")]
    [InlineData("DeleteMembershipTableEntriesKey")]
    [InlineData("GatewaysQueryKey")]
    [InlineData("CleanupDefunctSiloEntriesKey")]
    [InlineData("CleanupDefunctSiloEntryKey")]
    [InlineData("ReadFromStorageKey")]
    [InlineData("WriteToStorageKey")]
    [InlineData("ClearStorageKey")]
    [InlineData("DeleteStorageKey")]
    [InlineData("UpsertReminderRowKey")]
    [InlineData("ReadReminderRowsKey")]
    [InlineData("ReadReminderRowKey")]
    [InlineData("ReadRangeRows1Key")]
    [InlineData("ReadRangeRows2Key")]
    [InlineData("DeleteReminderRowKey")]
    [InlineData("DeleteReminderRowsKey")]
    public async Task EveryQueryTheOrleansProvidersAskForExists(string key) =>
        Assert.Equal(1, await _database.CountAsync($"SELECT count(*) FROM orleansquery WHERE querykey = '{key}'"));

    [Theory]
    [InlineData("file_current", "file_current_id,tenant_id,share_name,dir_id,name,full_path,size_bytes,atime_unix,mtime_unix,ctime_unix,file_hash,file_extension,last_accessed_source,atime_updated_utc,first_seen_scan_id,last_seen_scan_id,last_scan_utc,created_utc,updated_utc")]
    [InlineData("tier_object", "state,planned_utc,acted_utc,last_accessed_utc,access_count,hash,locator,attempts,last_error,file_current_id")]
    [InlineData("file", "file_current_id,tenant_id,scan_id,dir_id,name,size_bytes,atime_unix,mtime_unix,ctime_unix,frn")]
    public async Task CoreTablesCarryTheColumnsOfTheDesign(string table, string columns)
    {
        foreach (var column in columns.Split(','))
        {
            Assert.True(1 == await _database.CountAsync(
                $"SELECT count(*) FROM information_schema.columns WHERE table_schema = 'alto' AND table_name = '{table}' AND column_name = '{column}'"),
                $"alto.{table}.{column} is missing");
        }
    }

    [Fact]
    public async Task StagingPartitionsAreCreatedPerTenantAndDayAndExpire()
    {
        var tenant = Guid.NewGuid();
        await _database.ExecuteAsync($"SELECT scan_staging.ensure_partition('{tenant}', current_date)");
        await _database.ExecuteAsync($"SELECT scan_staging.ensure_partition('{tenant}', current_date - 10)");
        // A second call is a no-op, not an error.
        await _database.ExecuteAsync($"SELECT scan_staging.ensure_partition('{tenant}', current_date)");
        var prefix = $"raw_scans_{tenant:N}";
        Assert.Equal(3, await _database.CountAsync($"SELECT count(*) FROM pg_class WHERE relname LIKE '{prefix}%' AND relkind IN ('p', 'r')"));

        Assert.Equal(1, await _database.CountAsync("SELECT scan_staging.drop_expired_partitions(7)"));
        Assert.Equal(2, await _database.CountAsync($"SELECT count(*) FROM pg_class WHERE relname LIKE '{prefix}%' AND relkind IN ('p', 'r')"));
    }

    [Fact]
    public async Task UnchangedFoldersOfAnAbandonedScanExpireWithStaging()
    {
        var scanId = await _database.StageQueuedScanAsync(Guid.NewGuid(), Guid.NewGuid(), 1);
        await _database.ExecuteAsync($"""
            INSERT INTO scan_staging.unchanged_part (scan_id, part_no, folders, digest, staged_at)
            VALUES ({scanId}, 0, ARRAY['/srv/old'], decode('00', 'hex'), now() - interval '8 days'), ({scanId}, 1, ARRAY['/srv/new'], decode('01', 'hex'), now() - interval '6 days')
            """);

        Assert.Equal(1, await _database.CountAsync("SELECT scan_staging.drop_expired_unchanged_parts(7)"));

        Assert.Equal(1, await _database.CountAsync($"SELECT part_no FROM scan_staging.unchanged_part WHERE scan_id = {scanId}"));
    }

    [Fact]
    public async Task ScansUnfinishedWhenTheirStagedRowsExpireAreFailedAndFinishedScansLoseTheirChunkRecords()
    {
        var tenant = Guid.NewGuid();
        var host = Guid.NewGuid();
        // Four scans started nine days ago (past the retention of 7), in every status, and one receiving since yesterday.
        await _database.ExecuteAsync($"""
            INSERT INTO alto.tenant (id, name) VALUES ('{tenant}', 'expiry-{tenant:N}');
            INSERT INTO alto.host (id, tenant_id, name) VALUES ('{host}', '{tenant}', 'fs01');
            INSERT INTO alto.scan (tenant_id, host_id, scan_uid, status, started_at)
            SELECT '{tenant}', '{host}', gen_random_uuid(), status, now() - make_interval(days => days)
            FROM (VALUES ('receiving', 9), ('queued', 9), ('ingesting', 9), ('completed', 9), ('receiving', 1)) AS v(status, days);
            INSERT INTO scan_staging.chunk (scan_id, chunk_no, row_count)
            SELECT id, n, 10 FROM alto.scan, generate_series(0, 1) AS n WHERE host_id = '{host}';
            """);

        var expired = await _database.CountAsync($"SELECT count(*) FROM scan_staging.expire_unfinished_scans(7) WHERE host_id = '{host}'");

        Assert.Equal(3, expired);
        Assert.Equal("completed,failed,failed,failed,receiving", await _database.ScalarAsync<string>(
            $"SELECT string_agg(status, ',' ORDER BY status) FROM alto.scan WHERE host_id = '{host}'"));
        Assert.Equal(3, await _database.CountAsync(
            $"SELECT count(*) FROM alto.scan WHERE host_id = '{host}' AND status = 'failed' AND last_error LIKE '%staged rows expired%' AND completed_at IS NOT NULL"));
        // A second sweep finds nothing more to fail.
        Assert.Equal(0, await _database.CountAsync($"SELECT count(*) FROM scan_staging.expire_unfinished_scans(7) WHERE host_id = '{host}'"));

        Assert.True(await _database.CountAsync("SELECT scan_staging.drop_expired_chunks(7)") >= 8);
        // Only the recent scan, still receiving, keeps its chunk records (a retried chunk is recognised).
        Assert.Equal(2, await _database.CountAsync(
            $"SELECT count(*) FROM scan_staging.chunk c JOIN alto.scan s ON s.id = c.scan_id WHERE s.host_id = '{host}' AND s.status = 'receiving'"));
        Assert.Equal(2, await _database.CountAsync($"SELECT count(*) FROM scan_staging.chunk c JOIN alto.scan s ON s.id = c.scan_id WHERE s.host_id = '{host}'"));
    }

    [Fact]
    public async Task TheAuditLogRefusesUpdatesAndDeletes()
    {
        await _database.ExecuteAsync("INSERT INTO alto.audit_log (actor, action, object_type) VALUES ('test', 'create', 'tenant')");
        await Assert.ThrowsAsync<Npgsql.PostgresException>(() => _database.ExecuteAsync("UPDATE alto.audit_log SET actor = 'someone else'"));
        await Assert.ThrowsAsync<Npgsql.PostgresException>(() => _database.ExecuteAsync("DELETE FROM alto.audit_log"));
        Assert.Equal(1, await _database.CountAsync("SELECT count(*) FROM alto.audit_log WHERE actor = 'test'"));
    }
}
