using Alto.Grains.Scans;
using Alto.Scanning;

namespace Alto.Grains.Trail;

/// <summary>
/// The statements that apply one kind of staged trail update to a host's inventory, in the order a
/// batch of several kinds runs them (<see cref="TrailUpdateApplier"/>). Each takes the batch ($1),
/// the tenant ($2) and the host ($3), and touches that host's rows only.
/// </summary>
internal static class TrailStatements
{
    /// <summary>The warming of a batch's read stubs, run only when the count found stubs to warm.</summary>
    public const string WarmKind = "warm";

    /// <summary>
    /// Tier objects of read files in PLANNED or STUBBED get their last access and count (warming),
    /// from <paramref name="reads"/>: rows of a read file's id, its newest read time and how many reads.
    /// </summary>
    public static string Warm(string reads) => $"""
        UPDATE alto.tier_object t
        SET last_accessed_utc = greatest(coalesce(t.last_accessed_utc, '-infinity'::timestamptz), to_timestamp(w.at_unix)),
            access_count = t.access_count + w.times
        FROM {reads} w
        WHERE t.file_current_id = w.file_current_id AND t.state IN ('PLANNED', 'STUBBED')
        """;

    /// <summary>Reads (atime, then warming) and writes keep the newest time per file; deletes and moves follow. Each with the kind it needs in the batch.</summary>
    public static (string Kind, string Sql)[] ByKind(bool windows) => windows ? WindowsByKind : PosixByKind;

    private static readonly (string Kind, string Sql)[] PosixByKind = Build(new SqlPaths(PathFlavor.Posix));
    private static readonly (string Kind, string Sql)[] WindowsByKind = Build(new SqlPaths(PathFlavor.Windows));

    private static (string Kind, string Sql)[] Build(SqlPaths paths) =>
    [
        ("read", """
        UPDATE alto.file_current f
        SET atime_unix = r.at_unix, last_accessed_source = 'lucidlink_audit', atime_updated_utc = now(), updated_utc = now()
        FROM (SELECT full_path, max(at_unix) AS at_unix FROM alto.audit_update_staging WHERE batch_id = $1 AND kind = 'read' GROUP BY full_path) r
        WHERE f.tenant_id = $2 AND f.host_id = $3 AND f.full_path = r.full_path AND NOT f.path_escaped
          AND f.deleted_utc IS NULL AND r.at_unix > f.atime_unix
        """),
        (WarmKind, Warm("""
            (SELECT f.file_current_id, r.at_unix, r.times
             FROM (SELECT full_path, max(at_unix) AS at_unix, count(*) AS times
                   FROM alto.audit_update_staging WHERE batch_id = $1 AND kind = 'read' GROUP BY full_path) r
             JOIN alto.file_current f ON f.tenant_id = $2 AND f.host_id = $3 AND f.full_path = r.full_path AND NOT f.path_escaped)
            """)),
        ("write", """
        UPDATE alto.file_current f SET mtime_unix = w.at_unix, updated_utc = now()
        FROM (SELECT full_path, max(at_unix) AS at_unix FROM alto.audit_update_staging WHERE batch_id = $1 AND kind = 'write' GROUP BY full_path) w
        WHERE f.tenant_id = $2 AND f.host_id = $3 AND f.full_path = w.full_path AND NOT f.path_escaped
          AND f.deleted_utc IS NULL AND w.at_unix > f.mtime_unix
        """),
        ("delete", """
        UPDATE alto.file_current f SET deleted_utc = to_timestamp(d.at_unix), updated_utc = now()
        FROM (SELECT full_path, max(at_unix) AS at_unix FROM alto.audit_update_staging WHERE batch_id = $1 AND kind = 'delete' GROUP BY full_path) d
        WHERE f.tenant_id = $2 AND f.host_id = $3 AND f.full_path = d.full_path AND NOT f.path_escaped AND f.deleted_utc IS NULL
        """),
        // The last move of each file wins; one whose new path is taken leaves the file where it was (the next scan settles it).
        ("move", """
        UPDATE alto.file_current f
        SET full_path = m.target_path, name = regexp_replace(m.target_path, CASE WHEN m.windows THEN '^.*\\' ELSE '^.*/' END, ''), updated_utc = now()
        FROM (SELECT DISTINCT ON (full_path) full_path, target_path,
                     (SELECT os = 'windows' FROM alto.host WHERE id = $3) AS windows
              FROM alto.audit_update_staging WHERE batch_id = $1 AND kind = 'move' ORDER BY full_path, seq DESC) m
        WHERE f.tenant_id = $2 AND f.host_id = $3 AND f.full_path = m.full_path AND NOT f.path_escaped AND f.deleted_utc IS NULL
          AND NOT EXISTS (SELECT 1 FROM alto.file_current o
                          WHERE o.tenant_id = $2 AND o.host_id = $3 AND o.full_path = m.target_path AND NOT o.path_escaped)
        """),
        // A moved folder (LucidLink logs file and folder moves alike) takes the files below it along.
        ("move", """
        UPDATE alto.file_current f
        SET full_path = m.target_path || substr(f.full_path, length(m.full_path) + 1), updated_utc = now()
        FROM (SELECT DISTINCT ON (full_path) full_path, target_path,
                     CASE WHEN (SELECT os = 'windows' FROM alto.host WHERE id = $3) THEN '\' ELSE '/' END AS separator
              FROM alto.audit_update_staging WHERE batch_id = $1 AND kind = 'move' ORDER BY full_path, seq DESC) m
        WHERE f.tenant_id = $2 AND f.host_id = $3 AND NOT f.path_escaped AND f.deleted_utc IS NULL
          AND left(f.full_path, length(m.full_path) + 1) = m.full_path || m.separator
          AND NOT EXISTS (SELECT 1 FROM alto.file_current o
                          WHERE o.tenant_id = $2 AND o.host_id = $3 AND NOT o.path_escaped
                            AND o.full_path = m.target_path || substr(f.full_path, length(m.full_path) + 1))
        """),
        MovedIntoTheirFolders(paths),
        // Tier objects carry their file's path: moved files' objects follow ($1 keeps the parameter list the same).
        ("move", """
        UPDATE alto.tier_object t SET full_path = f.full_path, updated_utc = now()
        FROM alto.file_current f
        WHERE t.file_current_id = f.file_current_id AND t.tenant_id = $2 AND t.host_id = $3 AND t.full_path <> f.full_path
          AND $1::uuid IS NOT NULL
        """),
    ];

    /// <summary>
    /// A moved file is in another folder: it takes that folder's directory row (made when the folder is new to the
    /// inventory), so folder views, the capacity by folder and an incremental scan's folders see it where it is now.
    /// </summary>
    private static (string Kind, string Sql) MovedIntoTheirFolders(SqlPaths paths) => ("move", $$"""
        WITH moved AS (
            SELECT DISTINCT f.file_current_id, {{paths.Folder("f.full_path", "c.cut")}} AS folder
            FROM (SELECT DISTINCT ON (full_path) target_path
                  FROM alto.audit_update_staging WHERE batch_id = $1 AND kind = 'move' ORDER BY full_path, seq DESC) m
            JOIN alto.file_current f
              ON f.tenant_id = $2 AND f.host_id = $3 AND NOT f.path_escaped AND f.deleted_utc IS NULL
             AND {{paths.Within("f.full_path", "m.target_path")}}
            CROSS JOIN LATERAL (SELECT {{paths.LastSeparator("f.full_path")}} AS cut) c),
        added AS (
            INSERT INTO alto.dir (tenant_id, host_id, share_name, path)
            SELECT DISTINCT $2::uuid, $3::uuid, '', folder FROM moved
            ON CONFLICT (host_id, share_name, path) DO NOTHING
            RETURNING id, path),
        folders AS (
            SELECT id, path FROM added
            UNION ALL
            SELECT d.id, d.path FROM alto.dir d WHERE d.host_id = $3 AND d.share_name = '' AND d.path IN (SELECT folder FROM moved))
        UPDATE alto.file_current f SET dir_id = d.id, updated_utc = now()
        FROM moved mv JOIN folders d ON d.path = mv.folder
        WHERE f.file_current_id = mv.file_current_id AND f.dir_id <> d.id
        """);
}
