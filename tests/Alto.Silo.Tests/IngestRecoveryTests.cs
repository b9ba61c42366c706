using System.Diagnostics;
using Alto.TestSupport;

namespace Alto.Silo.Tests;

/// <summary>
/// A silo is killed (SIGKILL) in the middle of an ingest; PostgreSQL rolls the merge back, and
/// the next silo to start finishes the ingest with the correct inventory.
/// </summary>
public sealed class IngestRecoveryTests
{
    private const int Rows = 300_000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task AnIngestInterruptedByASiloCrashCompletesAfterRestart()
    {
        await using var database = await TestDatabase.CreateAsync("recovery");
        await database.MigrateAsync();
        // Let the server notice a dead client within a second, even in the middle of a long statement.
        await database.ExecuteAsync($"ALTER DATABASE \"{database.Name}\" SET client_connection_check_interval = '1s'");
        var scanId = await database.StageQueuedScanAsync(Guid.NewGuid(), Guid.NewGuid(), Rows);

        await using var first = await SiloProcess.StartAsync(database, "recovery", Patience);
        await Eventually.WaitAsync(() => MergeRunningAsync(database), "the merge to start", Patience, TimeSpan.FromMilliseconds(50));
        Process.GetProcessById(first.Run.ProcessId).Kill();
        await first.DisposeAsync();
        await Eventually.WaitAsync(async () => !await MergeRunningAsync(database), "the killed silo's merge to be rolled back", Patience, TimeSpan.FromMilliseconds(50));

        Assert.Equal("queued", await database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE id = {scanId}"));
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM alto.file_current"));

        // Restarted on the same address and port, as a service manager would: the new generation
        // supersedes the crashed one at once.
        await using var second = await SiloProcess.StartAsync(database, "recovery", Patience, first.SiloPort);
        await Eventually.WaitAsync(async () => await database.ScalarAsync<string>($"SELECT status FROM alto.scan WHERE id = {scanId}") == "completed",
            "the ingest to complete after the restart", Patience, TimeSpan.FromMilliseconds(50));

        Assert.Equal(Rows, await database.CountAsync("SELECT count(*) FROM alto.file_current WHERE deleted_utc IS NULL"));
        Assert.Equal(Rows, await database.CountAsync("SELECT count(DISTINCT full_path) FROM alto.file_current"));
        Assert.Equal(Rows, await database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE first_seen_scan_id = {scanId} AND last_seen_scan_id = {scanId}"));
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM alto.file"));
        Assert.Equal((long)Rows * (Rows - 1) / 2, await database.CountAsync("SELECT sum(size_bytes) FROM alto.file_current"));
    }

    private static async Task<bool> MergeRunningAsync(TestDatabase database) =>
        await database.CountAsync($"""
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = '{database.Name}' AND state = 'active' AND query LIKE '%scan_rows%' AND pid <> pg_backend_pid()
            """) > 0;
}
