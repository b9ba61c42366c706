using Alto.Audit;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Scans;

/// <summary>
/// A scanned root below which a complete scan saw nothing, while the inventory held live files
/// there: they are marked gone, as the scan says, but this is what a volume that was not mounted
/// when it was scanned looks like too, so it is said (a warning in the log, an audit entry, a metric).
/// </summary>
public sealed record EmptiedRoot(string Root, long FilesGone);

/// <summary>Finds the roots a complete scan's merge has just emptied, and says so, within the merge's transaction.</summary>
internal static partial class EmptiedRootCheck
{
    /// <summary>
    /// The roots below which the scan (its normalised rows, <c>scan_rows</c>) saw no file, and how many
    /// live files there the merge has just marked gone (those of this transaction: deleted_utc is its
    /// start). Asked only when the merge marked some file gone; a root that had nothing and still has
    /// nothing is no news.
    /// </summary>
    public static async Task<List<EmptiedRoot>> FindAsync(
        NpgsqlConnection connection, Guid tenantId, Guid hostId, string[] roots, SqlPaths paths, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($$"""
            SELECT root, gone FROM (
                SELECT root, (SELECT count(*) FROM alto.file_current fc
                              WHERE fc.tenant_id = $1 AND fc.host_id = $2 AND fc.deleted_utc = now() AND {{paths.Below("fc.full_path", "root")}}) AS gone
                FROM unnest($3::text[]) root
                WHERE NOT EXISTS (SELECT 1 FROM scan_rows r WHERE {{paths.Below("r.file_path", "root")}})) roots
            WHERE gone > 0
            """, connection) { CommandTimeout = 0 };
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = roots });
        var emptied = new List<EmptiedRoot>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            emptied.Add(new EmptiedRoot(reader.GetString(0), reader.GetInt64(1)));
        }
        return emptied;
    }

    /// <summary>Each emptied root in the log and, with the merge's own transaction, in the tenant's audit trail.</summary>
    public static async Task ReportAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, ILogger logger, Guid tenantId, Guid hostId, long scanId,
        List<EmptiedRoot> emptied, CancellationToken cancellationToken)
    {
        if (emptied.Count == 0)
        {
            return;
        }
        foreach (var root in emptied)
        {
            LogRootEmptied(logger, scanId, hostId, root.Root, root.FilesGone);
        }
        await AuditLog.AppendAsync(connection, transaction, [.. emptied.Select(root => new AuditEntry(
            tenantId, "system", "scan.root_emptied", "scan", scanId.ToString(System.Globalization.CultureInfo.InvariantCulture), Succeeded: true,
            new Dictionary<string, object?>
            {
                ["root"] = root.Root, ["filesGone"] = root.FilesGone,
                ["hint"] = "the scan saw no file below this root: if its volume was not mounted when it was scanned, scan it again once it is",
            }) { HostId = hostId, Path = root.Root })], cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Scan {ScanId} of host {HostId} saw no file below {Root}, where {Gone} files were; they are marked gone. If the volume was not mounted when it was scanned, scan it again once it is")]
    private static partial void LogRootEmptied(ILogger logger, long scanId, Guid hostId, string root, long gone);
}
