using Alto.Scanning;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Scans;

/// <summary>What one ingest did to the inventory.</summary>
public sealed record MergeResult(
    long ScanId, Guid TenantId, Guid HostId, long FilesSeen, long FilesChanged, long FilesDeleted,
    long LiveFiles, long LiveBytes, DateTimeOffset CompletedAt)
{
    /// <summary>Roots below which the scan saw no file at all where files were, now marked gone (<see cref="EmptiedRoot"/>).</summary>
    public IReadOnlyList<EmptiedRoot> EmptiedRoots { get; init; } = [];
}

/// <summary>
/// Turns one staged scan into inventory, set-based and in one transaction, so an interrupted
/// ingest leaves no trace and simply runs again:
/// normalise and de-duplicate the staged rows (last chunk wins), add their directories, merge
/// into alto.file_current without touching unchanged rows, keep the version a changed file had
/// before as alto.file history (a new file's first version is its inventory row), mark files
/// below the scanned roots that the scan did not see as deleted, and close the scan. An
/// incremental scan holds the rows of changed folders only: the files of the folders it names
/// unchanged are carried over as they are.
/// </summary>
public sealed partial class InventoryMerge(NpgsqlDataSource db, ILogger<InventoryMerge> logger)
{
    /// <summary>
    /// From this many staged rows a scan's merge first makes sure the planner knows how many there
    /// are (scan_staging.refresh_statistics, migration 0033): below it the rows are read by index
    /// whatever the estimate, above it a stale estimate made the normalising serial.
    /// </summary>
    public const long StatisticsFromRows = 10_000;

    /// <returns>Null when the scan is not (or no longer) waiting for ingest.</returns>
    public async Task<MergeResult?> MergeAsync(long scanId, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var steps = new StepClock();
        // Before the transaction: ANALYZE holds the staged partition's lock until its transaction ends.
        if (await ScalarAsync<bool>(connection, "SELECT scan_staging.refresh_statistics($1, $2)", cancellationToken, scanId, StatisticsFromRows))
        {
            steps.Mark("staged statistics");
        }
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        var scan = await LockScanAsync(connection, scanId, cancellationToken);
        if (scan is null)
        {
            return null;
        }

        // One ingest per host at a time: two merges of the same host would race on new paths.
        await ExecuteAsync(connection, "SELECT pg_advisory_xact_lock(hashtext($1::text))", cancellationToken, scan.HostId.ToString());
        if (scan.BaseScanUid is { } baseScan && await LastIngestedAsync(connection, scan.HostId, cancellationToken) is var last && last != baseScan)
        {
            // The agent's digests describe the inventory as its base scan left it; anything since (another scan) makes them stale.
            throw new StaleBaseScanException(
                $"this incremental scan continues scan {baseScan}, but the host's last ingested scan is {last?.ToString() ?? "none"}: its unchanged folders cannot be carried over (the agent's next scan is a full one)");
        }
        // Sorts and hashes over a whole scan stay in memory rather than spilling to disk.
        await ExecuteAsync(connection, "SET LOCAL work_mem = '256MB'", cancellationToken);

        var paths = new SqlPaths(scan.Flavor);
        await ExecuteAsync(connection, $$"""
            CREATE TEMP TABLE scan_rows ON COMMIT DROP AS
            -- Sorted bytewise ("C"): the same rows as the database's collation would keep (it is deterministic, so equal
            -- means byte-equal), a quarter faster to sort over a million paths.
            SELECT DISTINCT ON (file_path COLLATE "C", path_escaped)
                   file_path, path_escaped, file_size,
                   -- date_part is double precision: much cheaper than extract's numeric over millions of rows. Cut to
                   -- the whole second first, so the double is exact: past about 2255 the microseconds no longer fit
                   -- in one, and 9999-12-31T23:59:59.999999 read as the first second of year 10000.
                   date_part('epoch', date_trunc('second', last_modified))::bigint AS mtime,
                   date_part('epoch', date_trunc('second', last_accessed))::bigint AS atime,
                   date_part('epoch', date_trunc('second', coalesce(ctime, last_modified)))::bigint AS ctime,
                   -- One stored form whatever the scanner wrote: lower case, without the dot.
                   lower(ltrim(coalesce(file_extension, ''), '.')) AS extension,
                   permissions, owner, nullif(hash, '') AS hash, file_id, is_stub, links,
                   {{paths.Folder("file_path", "cut.at")}} AS dir_path,
                   substr(file_path, cut.at + 2) AS name
            FROM scan_staging.raw_scans
            -- Where the last separator is, found once per row: the directory is before it, the name after.
            CROSS JOIN LATERAL (SELECT {{paths.LastSeparator("file_path")}} AS at) cut
            WHERE tenant_id = $1 AND scan_date = $2 AND scan_id = $3
            ORDER BY file_path COLLATE "C", path_escaped, chunk_no DESC, row_no DESC
            """, cancellationToken, scan.TenantId, scan.Day, scanId);
        await ExecuteAsync(connection, "ANALYZE scan_rows", cancellationToken);
        steps.Mark("normalise");

        await ExecuteAsync(connection, """
            INSERT INTO alto.dir (tenant_id, host_id, share_name, path)
            SELECT DISTINCT $1::uuid, $2::uuid, '', dir_path FROM scan_rows
            ON CONFLICT (host_id, share_name, path) DO NOTHING
            """, cancellationToken, scan.TenantId, scan.HostId);
        await ExecuteAsync(connection, $$"""
            UPDATE alto.dir child SET parent_id = parent.id
            FROM alto.dir parent
            WHERE child.host_id = $1 AND child.parent_id IS NULL
              AND parent.host_id = $1 AND parent.share_name = child.share_name AND parent.id <> child.id
              AND parent.path = {{paths.Folder("child.path", paths.LastSeparator("child.path"))}}
            """, cancellationToken, scan.HostId);
        // Per directory (far fewer than files): its id, and its share -- the longest registered
        // volume that contains it.
        await ExecuteAsync(connection, $$"""
            CREATE TEMP TABLE scan_dirs ON COMMIT DROP AS
            SELECT d.path AS dir_path, d.id AS dir_id,
                   coalesce((SELECT volume FROM unnest($2::text[]) volume
                             WHERE {{paths.Within("d.path", "volume")}}
                             ORDER BY length(volume) DESC LIMIT 1), '') AS share
            FROM alto.dir d
            WHERE d.host_id = $1 AND d.share_name = '' AND d.path IN (SELECT DISTINCT dir_path FROM scan_rows)
            """, cancellationToken, scan.HostId, scan.Volumes);
        await ExecuteAsync(connection, "ANALYZE scan_dirs", cancellationToken);
        steps.Mark("directories");

        // A host's first scan (the host has no inventory rows, and only a merge adds them, under the
        // host's lock): every row is new, so nothing is matched, updated or marked gone, and the
        // rows go straight from the normalised scan into the inventory.
        var firstScan = scan.BaseScanUid is null && !await HasInventoryAsync(connection, scan, cancellationToken);
        long changed;
        long deleted;
        List<EmptiedRoot> emptied = [];
        if (firstScan)
        {
            changed = await InsertNewAsync(connection, scan, scanId, "scan_rows JOIN scan_dirs USING (dir_path)", cancellationToken);
            steps.Mark("first-scan insert");
            deleted = 0;
        }
        else
        {
            (changed, deleted) = await MergeIntoKnownAsync(connection, scan, scanId, paths, steps, cancellationToken);
            if (deleted > 0 && scan.BaseScanUid is null)
            {
                emptied = await EmptiedRootCheck.FindAsync(connection, scan.TenantId, scan.HostId, scan.Roots, paths, cancellationToken);
                await EmptiedRootCheck.ReportAsync(connection, transaction, logger, scan.TenantId, scan.HostId, scanId, emptied, cancellationToken);
            }
        }
        if (changed > 10_000)
        {
            await ExecuteAsync(connection, "ANALYZE alto.file_current", cancellationToken);
        }

        var seen = await ScalarAsync<long>(connection, "SELECT count(*) FROM scan_rows", cancellationToken);
        long liveFiles;
        long liveBytes;
        // The host's live files and bytes from its capacity summary (migration 0021), which the
        // inventory's own triggers have brought up to date within this transaction: a few rows,
        // where counting the host's inventory read all of it (0.4-0.8 s a merge at 1 M files, half
        // of an unchanged incremental rescan's merge).
        await using (var totals = new NpgsqlCommand("""
            SELECT coalesce(sum(files), 0)::bigint, coalesce(sum(bytes), 0)::bigint
            FROM alto.capacity_summary WHERE tenant_id = $1 AND host_id = $2 AND dimension = 'size'
            """, connection))
        {
            totals.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = scan.TenantId });
            totals.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = scan.HostId });
            await using var reader = await totals.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            liveFiles = reader.GetInt64(0);
            liveBytes = reader.GetInt64(1);
        }

        var completedAt = await ScalarAsync<DateTime>(connection, """
            WITH used AS (DELETE FROM scan_staging.unchanged_part WHERE scan_id = $1)
            UPDATE alto.scan SET status = 'completed', completed_at = now(), files_changed = $2, files_deleted = $3
            WHERE id = $1
            RETURNING completed_at
            """, cancellationToken, scanId, changed, deleted);
        await transaction.CommitAsync(cancellationToken);
        steps.Mark("commit");
        LogMerged(logger, scanId, seen, changed, deleted, steps.ToString());
        return new MergeResult(scanId, scan.TenantId, scan.HostId, seen, changed, deleted, liveFiles, liveBytes,
            new DateTimeOffset(DateTime.SpecifyKind(completedAt, DateTimeKind.Utc))) { EmptiedRoots = emptied };
    }

    /// <summary>Marks the scan failed with its reason; returns its tenant (null when it is gone or already merged).</summary>
    public async Task<Guid?> MarkFailedAsync(long scanId, string error, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            WITH unused AS (DELETE FROM scan_staging.unchanged_part WHERE scan_id = $1)
            UPDATE alto.scan SET status = 'failed', last_error = $2 WHERE id = $1 AND status <> 'completed' RETURNING tenant_id
            """);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = scanId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = error.Length > 2000 ? error[..2000] : error });
        return await command.ExecuteScalarAsync(cancellationToken) as Guid?;
    }

    /// <summary>
    /// The merge into a host that has inventory: each scanned file matched to its row, changed rows
    /// updated (their previous version kept), new files inserted, unseen files marked gone.
    /// </summary>
    private static async Task<(long Changed, long Deleted)> MergeIntoKnownAsync(
        NpgsqlConnection connection, ScanToMerge scan, long scanId, SqlPaths paths, StepClock steps, CancellationToken cancellationToken)
    {
        // One pass over the paths: each scanned file, its directory, and the inventory row it
        // matches (if any) and whether that row changed. Everything after joins on ids.
        await ExecuteAsync(connection, """
            CREATE TEMP TABLE scan_match ON COMMIT DROP AS
            SELECT r.*, d.dir_id, d.share, fc.file_current_id, fc.links AS known_links,
                   fc.file_current_id IS NOT NULL
                   AND ((fc.size_bytes, fc.mtime_unix, fc.ctime_unix, fc.file_extension, fc.permissions, fc.owner,
                         fc.frn, fc.is_stub, fc.links, fc.dir_id, fc.deleted_utc IS NULL)
                        IS DISTINCT FROM
                        (r.file_size, r.mtime, r.ctime, r.extension, r.permissions, r.owner, r.file_id, r.is_stub, r.links, d.dir_id, true)
                        OR r.atime > fc.atime_unix
                        OR (r.hash IS NOT NULL AND r.hash IS DISTINCT FROM fc.file_hash)) AS changed
            FROM scan_rows r
            JOIN scan_dirs d ON d.dir_path = r.dir_path
            LEFT JOIN alto.file_current fc
                   ON fc.tenant_id = $1 AND fc.host_id = $2 AND fc.full_path = r.file_path AND fc.path_escaped = r.path_escaped
            """, cancellationToken, scan.TenantId, scan.HostId);
        steps.Mark("match");

        // Known files that changed (or came back): updated, their previous version kept as history. Unchanged rows are not touched.
        // (Both parts of the statement read the rows as they were before it: the history gets the superseded version.)
        var changed = await ScalarAsync<long>(connection, """
            WITH superseded AS (
                INSERT INTO alto.file (scan_id, file_current_id, tenant_id, dir_id, name, size_bytes, atime_unix, mtime_unix,
                                       ctime_unix, frn, file_hash)
                SELECT fc.last_seen_scan_id, fc.file_current_id, fc.tenant_id, fc.dir_id, fc.name, fc.size_bytes, fc.atime_unix,
                       fc.mtime_unix, fc.ctime_unix, fc.frn, fc.file_hash
                FROM alto.file_current fc
                JOIN scan_match m ON fc.file_current_id = m.file_current_id
                WHERE m.changed),
            updated AS (
                UPDATE alto.file_current fc
                SET size_bytes = m.file_size,
                    -- An access seen elsewhere (LucidLink audit, recall) may be newer than the scan's.
                    atime_unix = greatest(fc.atime_unix, m.atime),
                    mtime_unix = m.mtime, ctime_unix = m.ctime,
                    file_hash = coalesce(m.hash, fc.file_hash),
                    file_extension = m.extension, permissions = m.permissions, owner = m.owner,
                    frn = m.file_id, is_stub = m.is_stub, links = m.links, dir_id = m.dir_id, share_name = m.share, name = m.name,
                    last_seen_scan_id = $1, last_scan_utc = now(), deleted_utc = NULL, updated_utc = now()
                FROM scan_match m
                WHERE m.changed AND fc.file_current_id = m.file_current_id
                RETURNING 1)
            SELECT count(*) FROM updated
            """, cancellationToken, scanId);
        // A name made or removed elsewhere changes a file's link count: its tier object (which counts
        // for its share of the bytes in the targets' figures) follows. Rare, so only those rows are looked up.
        await ExecuteAsync(connection, """
            UPDATE alto.tier_object t SET links = m.links
            FROM scan_match m
            WHERE m.changed AND m.links <> m.known_links AND t.file_current_id = m.file_current_id AND t.links <> m.links
            """, cancellationToken);
        steps.Mark("update");

        // New files: a plain insert (no conflict is possible under the per-host lock).
        changed += await InsertNewAsync(connection, scan, scanId, "scan_match WHERE file_current_id IS NULL", cancellationToken);
        steps.Mark("insert");
        // Absent from a complete scan of a root: gone (only below the roots this scan walked).
        var deleted = scan.BaseScanUid is null ? await DeleteUnseenAsync(connection, scan, scanId, paths, cancellationToken)
            : await DeleteUnseenInChangedFoldersAsync(connection, scan, scanId, paths, cancellationToken);
        steps.Mark("deletions");
        return (changed, deleted);
    }

    /// <summary>Whether the host has any inventory row, live or deleted.</summary>
    private static Task<bool> HasInventoryAsync(NpgsqlConnection connection, ScanToMerge scan, CancellationToken cancellationToken) =>
        ScalarAsync<bool>(connection, "SELECT EXISTS (SELECT 1 FROM alto.file_current WHERE tenant_id = $1 AND host_id = $2)",
            cancellationToken, scan.TenantId, scan.HostId);

    /// <summary>
    /// Inserts the scanned files that <paramref name="source"/> yields (normalised rows with their
    /// directory and share) as new inventory rows. Their first version is the inventory row itself
    /// (first_seen_scan_id): history holds versions a later scan superseded, nothing more.
    /// </summary>
    private static Task<long> InsertNewAsync(NpgsqlConnection connection, ScanToMerge scan, long scanId, string source, CancellationToken cancellationToken) =>
        ScalarAsync<long>(connection, $"""
            WITH inserted AS (
                INSERT INTO alto.file_current
                    (tenant_id, host_id, share_name, dir_id, name, full_path, path_escaped, size_bytes, atime_unix, mtime_unix,
                     ctime_unix, file_hash, file_extension, permissions, owner, frn, is_stub, links,
                     first_seen_scan_id, last_seen_scan_id, last_scan_utc)
                SELECT $1, $2, share, dir_id, name, file_path, path_escaped, file_size, atime, mtime,
                       ctime, hash, extension, permissions, owner, file_id, is_stub, links, $3, $3, now()
                FROM {source}
                RETURNING 1)
            SELECT count(*) FROM inserted
            """, cancellationToken, scan.TenantId, scan.HostId, scanId);

    /// <summary>Files below the scanned roots that the scan did not see: marked deleted.</summary>
    private static Task<long> DeleteUnseenAsync(NpgsqlConnection connection, ScanToMerge scan, long scanId, SqlPaths paths, CancellationToken cancellationToken) =>
        ScalarAsync<long>(connection, $$"""
            WITH gone AS (
                UPDATE alto.file_current fc
                SET deleted_utc = now(), updated_utc = now()
                WHERE fc.tenant_id = $1 AND fc.host_id = $2 AND fc.deleted_utc IS NULL
                  AND EXISTS (SELECT 1 FROM unnest($3::text[]) root WHERE {{paths.Below("fc.full_path", "root")}})
                  AND fc.first_seen_scan_id <> $4 -- inserted just now by this scan
                  AND fc.file_current_id NOT IN (SELECT file_current_id FROM scan_match WHERE file_current_id IS NOT NULL)
                RETURNING 1)
            SELECT count(*) FROM gone
            """, cancellationToken, scan.TenantId, scan.HostId, scan.Roots, scanId);

    /// <summary>
    /// An incremental scan's deletions: files the scan did not see in the folders below its roots
    /// that it did not name unchanged — folders it sent (a file gone from them), and folders it
    /// neither sent nor named (emptied or gone). Found by folder, so the files of unchanged folders
    /// (nearly all, in a quiet rescan) are not read at all.
    /// </summary>
    private static Task<long> DeleteUnseenInChangedFoldersAsync(
        NpgsqlConnection connection, ScanToMerge scan, long scanId, SqlPaths paths, CancellationToken cancellationToken) =>
        ScalarAsync<long>(connection, $$"""
            WITH unchanged AS (
                SELECT d.id
                FROM scan_staging.unchanged_part u
                CROSS JOIN LATERAL unnest(u.folders) AS f(path)
                JOIN alto.dir d ON d.host_id = $2 AND d.share_name = '' AND d.path = f.path
                WHERE u.scan_id = $4),
            gone AS (
                UPDATE alto.file_current fc
                SET deleted_utc = now(), updated_utc = now()
                FROM alto.dir d
                WHERE d.host_id = $2 AND d.share_name = ''
                  AND EXISTS (SELECT 1 FROM unnest($3::text[]) root WHERE {{paths.Within("d.path", "root")}})
                  AND d.id NOT IN (SELECT id FROM unchanged)
                  AND fc.dir_id = d.id AND fc.tenant_id = $1 AND fc.host_id = $2 AND fc.deleted_utc IS NULL
                  AND fc.first_seen_scan_id <> $4 -- inserted just now by this scan
                  AND fc.file_current_id NOT IN (SELECT file_current_id FROM scan_match WHERE file_current_id IS NOT NULL)
                RETURNING 1)
            SELECT count(*) FROM gone
            """, cancellationToken, scan.TenantId, scan.HostId, scan.Roots, scanId);

    private static async Task<Guid?> LastIngestedAsync(NpgsqlConnection connection, Guid hostId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT scan_uid FROM alto.scan WHERE host_id = $1 AND status = 'completed' ORDER BY completed_at DESC, id DESC LIMIT 1", connection);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        return await command.ExecuteScalarAsync(cancellationToken) as Guid?;
    }

    private sealed record ScanToMerge(Guid TenantId, Guid HostId, DateOnly Day, string[] Roots, string[] Volumes, PathFlavor Flavor, Guid? BaseScanUid);

    private static async Task<ScanToMerge?> LockScanAsync(NpgsqlConnection connection, long scanId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            UPDATE alto.scan s SET status = 'ingesting'
            FROM alto.host h
            WHERE s.id = $1 AND s.status IN ('queued', 'ingesting') AND h.id = s.host_id
            RETURNING s.tenant_id, s.host_id, (s.started_at AT TIME ZONE 'UTC')::date, s.roots, h.volumes, h.os,
                      CASE WHEN s.kind = 'incremental' THEN s.base_scan_uid END
            """, connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = scanId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadScan(reader) : null;
    }

    private static ScanToMerge ReadScan(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetGuid(1), reader.GetFieldValue<DateOnly>(2),
        reader.GetFieldValue<string[]>(3), reader.GetFieldValue<string[]>(4), reader.GetString(5) == "windows" ? PathFlavor.Windows : PathFlavor.Posix,
        reader.IsDBNull(6) ? null : reader.GetGuid(6));

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Merged scan {ScanId}: {Seen} files, {Changed} new or changed, {Deleted} gone; {Steps}")]
    private static partial void LogMerged(ILogger logger, long scanId, long seen, long changed, long deleted, string steps);

    /// <summary>How long each step of a merge took, for the log: where the time goes on a big scan.</summary>
    private sealed class StepClock
    {
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private readonly List<string> _steps = [];
        private TimeSpan _last;

        public void Mark(string step)
        {
            var now = _clock.Elapsed;
            _steps.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{step} {(now - _last).TotalSeconds:0.00}s"));
            _last = now;
        }

        public override string ToString() => string.Join(", ", _steps);
    }
}

/// <summary>An incremental scan whose base is not the host's last ingested scan: it cannot be merged, and fails with this reason.</summary>
public sealed class StaleBaseScanException(string message) : Exception(message);
