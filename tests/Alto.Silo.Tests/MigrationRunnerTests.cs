using Alto.Silo.Migrations;
using Alto.TestSupport;

namespace Alto.Silo.Tests;

public sealed class MigrationRunnerTests
{
    [Fact]
    public async Task AnEmptyDatabaseIsBroughtToTheCurrentVersion()
    {
        await using var database = await TestDatabase.CreateAsync("migrate");

        var report = await database.MigrateAsync();

        Assert.Equal(0, report.FromVersion);
        Assert.Equal(Migration.Embedded[^1].Version, report.ToVersion);
        Assert.Equal(Migration.Embedded.Count, report.Applied.Count);
        Assert.Equal(Migration.Embedded.Count, await database.CountAsync("SELECT count(*) FROM public.alto_schema_version"));
        Assert.Equal(1, await database.CountAsync("SELECT count(*) FROM pg_namespace WHERE nspname = 'alto'"));
        Assert.Equal(1, await database.CountAsync("SELECT count(*) FROM pg_class WHERE relname = 'raw_scans' AND relkind = 'p'"));
    }

    [Fact]
    public async Task AuditEntriesWrittenBeforeTheChainExistedAreChainedByItsMigration()
    {
        await using var database = await TestDatabase.CreateAsync("chain");
        await database.CreateRunner([.. Migration.Embedded.Where(m => m.Version < 5)]).MigrateAsync();
        var tenant = Guid.NewGuid();
        await database.ExecuteAsync($"INSERT INTO alto.tenant (id, name) VALUES ('{tenant}', 'old-{tenant:N}')");
        await database.ExecuteAsync($"""
            INSERT INTO alto.audit_log (tenant_id, actor, action, object_type, object_id, details)
            SELECT CASE WHEN n % 2 = 0 THEN '{tenant}'::uuid END, 'agent:x', 'tier.stubbed', 'tier_object', n::text, jsonb_build_object('n', n)
            FROM generate_series(1, 7) AS n
            """);

        await database.MigrateAsync();

        var tenantChain = await Alto.Audit.AuditChain.VerifyAsync(database.DataSource, tenant, CancellationToken.None);
        var platformChain = await Alto.Audit.AuditChain.VerifyAsync(database.DataSource, null, CancellationToken.None);
        Assert.Equal((true, 3L), (tenantChain.Intact, tenantChain.Entries));
        Assert.Equal((true, 4L), (platformChain.Intact, platformChain.Entries));
    }

    [Fact]
    public async Task ARerunChangesNothing()
    {
        await using var database = await TestDatabase.CreateAsync("rerun");
        await database.MigrateAsync();
        var schemaBefore = await SchemaFingerprintAsync(database);

        var report = await database.MigrateAsync();

        Assert.Empty(report.Applied);
        Assert.Equal(report.ToVersion, report.FromVersion);
        Assert.Equal(schemaBefore, await SchemaFingerprintAsync(database));
    }

    [Fact]
    public async Task ADatabaseNewerThanTheCodeIsRefused()
    {
        await using var database = await TestDatabase.CreateAsync("newer");
        await database.MigrateAsync();
        var future = Migration.Embedded[^1].Version + 1;
        await database.ExecuteAsync(
            $"INSERT INTO public.alto_schema_version (version, name, checksum) VALUES ({future}, 'from_the_future', 'x')");

        var error = await Assert.ThrowsAsync<DatabaseNewerThanCodeException>(() => database.MigrateAsync());

        Assert.Equal(future, error.DatabaseVersion);
        Assert.Contains($"version {future}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAppliedMigrationThatWasEditedIsRefused()
    {
        await using var database = await TestDatabase.CreateAsync("edited");
        await database.MigrateAsync();
        var edited = Migration.Embedded.Select(m => m.Version == 1 ? m with { Sql = m.Sql + "\n-- edited" } : m).ToList();

        await Assert.ThrowsAsync<MigrationChecksumException>(() => database.CreateRunner(edited).MigrateAsync());
    }

    [Fact]
    public async Task AFailingMigrationLeavesNoTraceOfItself()
    {
        await using var database = await TestDatabase.CreateAsync("broken");
        var broken = Migration.Embedded.Append(new Migration(999, "broken", """
            CREATE TABLE alto.half_done (id int);
            SELECT 1 / 0;
            """)).ToList();

        await Assert.ThrowsAsync<Npgsql.PostgresException>(() => database.CreateRunner(broken).MigrateAsync());

        // The good migrations before it are applied and recorded; the broken one is neither.
        Assert.Equal(Migration.Embedded.Count, await database.CountAsync("SELECT count(*) FROM public.alto_schema_version"));
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM pg_class WHERE relname = 'half_done'"));
    }

    [Fact]
    public async Task SilosStartingTogetherMigrateOnce()
    {
        await using var database = await TestDatabase.CreateAsync("race");

        var reports = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => database.MigrateAsync()));

        Assert.Equal(Migration.Embedded.Count, reports.Sum(report => report.Applied.Count));
        Assert.Equal(Migration.Embedded.Count, await database.CountAsync("SELECT count(*) FROM public.alto_schema_version"));
    }

    [Fact]
    public void EmbeddedMigrationsAreNumberedWithoutGaps() =>
        Assert.Equal(Enumerable.Range(1, Migration.Embedded.Count), Migration.Embedded.Select(m => m.Version));

    /// <summary>Every column and index of Alto's schemas, as one string.</summary>
    private static Task<string> SchemaFingerprintAsync(TestDatabase database) => database.ScalarAsync<string>("""
        SELECT string_agg(item, E'\n' ORDER BY item) FROM (
            SELECT table_schema || '.' || table_name || '.' || column_name || ':' || data_type AS item
            FROM information_schema.columns WHERE table_schema IN ('alto', 'orleans', 'scan_staging', 'public')
            UNION ALL
            SELECT schemaname || '.' || indexname || ':' || indexdef FROM pg_indexes
            WHERE schemaname IN ('alto', 'orleans', 'scan_staging', 'public')) items
        """);
}
