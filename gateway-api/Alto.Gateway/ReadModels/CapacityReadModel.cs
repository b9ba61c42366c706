using Npgsql;
using static Alto.Gateway.ReadModels.SqlValues;

namespace Alto.Gateway.ReadModels;

/// <summary>One bucket of a capacity report: its key (stable, for clients), a label for people, and what falls in it.</summary>
public sealed record CapacityBucket(string Key, string Label, long Files, long Bytes, long TieredFiles, long TieredBytes);

/// <summary>Where a tenant's (or a host's) bytes are along one dimension, and how many are tiered (stubs) or local.</summary>
public sealed record CapacityReport(
    string By, Guid? HostId, DateOnly AsOf, long Files, long Bytes, long TieredFiles, long TieredBytes, long LocalBytes, CapacityBucket[] Buckets);

/// <summary>A directory below the one asked about, with everything under it: an rbh-du line.</summary>
public sealed record DirectoryUsage(string Path, long Files, long Bytes, long TieredBytes, long ColdBytes);

/// <summary>The subdirectories of a directory by cold bytes (last access before <see cref="ColdBefore"/>), largest first.</summary>
public sealed record DirectoryReport(Guid HostId, string Path, DateOnly ColdBefore, DirectoryUsage Here, DirectoryUsage[] Directories);

/// <summary>
/// Capacity analytics from alto.capacity_summary (kept by the inventory's own writes; see
/// migration 0022): a few thousand summary rows per request, never the inventory itself. Ages are
/// bucketed against today here, since the summary keeps days, not ages.
/// </summary>
public sealed class CapacityReadModel(NpgsqlDataSource db, TimeProvider time)
{
    /// <summary>The dimensions a report can be by.</summary>
    public static readonly string[] Dimensions = ["access-age", "modify-age", "extension", "family", "owner", "size"];

    /// <summary>Age buckets: up to 30 days, 90, 180, a year, two years, and older.</summary>
    private static readonly (int UpToDays, string Key, string Label)[] AgeBuckets =
    [
        (30, "0-30d", "0–30 days"), (90, "30-90d", "30–90 days"), (180, "90-180d", "90–180 days"), (365, "180-365d", "180 days–1 year"),
        (730, "1-2y", "1–2 years"), (int.MaxValue, "2y+", "over 2 years"),
    ];

    public async Task<CapacityReport> ReportAsync(Guid tenantId, Guid? hostId, string by, int limit, CancellationToken cancellationToken)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var dimension = by switch
        {
            "access-age" => "access_day",
            "modify-age" => "modify_day",
            "family" => "extension",
            _ => by,
        };
        var rows = await SumsAsync(tenantId, hostId, dimension, cancellationToken);
        var buckets = by switch
        {
            "access-age" or "modify-age" => ByAge(rows, today),
            "size" => [.. rows.OrderBy(row => long.Parse(row.Key, System.Globalization.CultureInfo.InvariantCulture)).Select(row => row with { Label = SizeLabel(row.Key) })],
            "family" => Largest(Merge(rows.Select(row => row with { Key = FileFamilies.Of(row.Key) })), limit, key => key),
            "extension" => Largest(rows, limit, key => key.Length == 0 ? "(none)" : "." + key),
            _ => Largest(rows, limit, key => key.Length == 0 ? "(unknown)" : key),
        };
        var (files, bytes, tieredFiles, tieredBytes) = (rows.Sum(row => row.Files), rows.Sum(row => row.Bytes), rows.Sum(row => row.TieredFiles), rows.Sum(row => row.TieredBytes));
        return new CapacityReport(by, hostId, today, files, bytes, tieredFiles, tieredBytes, bytes - tieredBytes, buckets);
    }

    /// <summary>
    /// The directories right below <paramref name="path"/> on the host, each with everything under
    /// it, by bytes last accessed before the first day of the month <paramref name="coldDays"/> ago
    /// (the summary keeps a directory's last accesses by month), then by bytes.
    /// </summary>
    public async Task<DirectoryReport> DirectoriesAsync(Guid tenantId, Guid hostId, string path, char separator, int coldDays, int limit, CancellationToken cancellationToken)
    {
        var coldMonth = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime.AddDays(-coldDays));
        var coldBefore = new DateOnly(coldMonth.Year, coldMonth.Month, 1);
        var root = path.Length > 1 ? path.TrimEnd(separator) : path;
        var below = root.EndsWith(separator) ? root : root + separator;
        await using var command = db.CreateCommand("""
            WITH dirs AS (
                SELECT d.id, CASE WHEN d.path = $3 THEN '' ELSE split_part(substr(d.path, length($4) + 1), $5, 1) END AS child
                FROM alto.dir d
                WHERE d.tenant_id = $1 AND d.host_id = $2 AND (d.path = $3 OR left(d.path, length($4)) = $4))
            SELECT dirs.child, sum(s.files), sum(s.bytes), sum(s.stub_bytes), coalesce(sum(s.bytes) FILTER (WHERE split_part(s.key, '/', 2) < $6), 0)
            FROM alto.capacity_summary s JOIN dirs ON dirs.id = split_part(s.key, '/', 1)::bigint
            WHERE s.tenant_id = $1 AND s.host_id = $2 AND s.dimension = 'dir_month'
            GROUP BY dirs.child
            """);
        command.Parameters.Add(Uuid(tenantId));
        command.Parameters.Add(Uuid(hostId));
        command.Parameters.Add(Text(root));
        command.Parameters.Add(Text(below));
        command.Parameters.Add(Text(separator.ToString()));
        command.Parameters.Add(Text(coldBefore.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture)));
        var here = new DirectoryUsage(root, 0, 0, 0, 0);
        var children = new List<DirectoryUsage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var child = reader.GetString(0);
            var usage = new DirectoryUsage(child.Length == 0 ? root : below + child, reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
            if (child.Length == 0)
            {
                here = usage;
            }
            else
            {
                children.Add(usage);
            }
        }
        var total = children.Aggregate(here, (sum, child) => sum with
        {
            Files = sum.Files + child.Files, Bytes = sum.Bytes + child.Bytes, TieredBytes = sum.TieredBytes + child.TieredBytes, ColdBytes = sum.ColdBytes + child.ColdBytes,
        });
        return new DirectoryReport(hostId, root, coldBefore, total,
            [.. children.OrderByDescending(child => child.ColdBytes).ThenByDescending(child => child.Bytes).ThenBy(child => child.Path, StringComparer.Ordinal).Take(limit)]);
    }

    private async Task<List<CapacityBucket>> SumsAsync(Guid tenantId, Guid? hostId, string dimension, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT key, sum(files), sum(bytes), sum(stub_files), sum(stub_bytes)
            FROM alto.capacity_summary
            WHERE tenant_id = $1 AND ($2::uuid IS NULL OR host_id = $2) AND dimension = $3
            GROUP BY key
            HAVING sum(files) <> 0
            """);
        command.Parameters.Add(Uuid(tenantId));
        command.Parameters.Add(Uuid(hostId));
        command.Parameters.Add(Text(dimension));
        var rows = new List<CapacityBucket>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = reader.GetString(0);
            rows.Add(new CapacityBucket(key, key, (long)reader.GetDecimal(1), (long)reader.GetDecimal(2), (long)reader.GetDecimal(3), (long)reader.GetDecimal(4)));
        }
        return rows;
    }

    private static CapacityBucket[] ByAge(List<CapacityBucket> days, DateOnly today)
    {
        var sums = AgeBuckets.Select(bucket => new CapacityBucket(bucket.Key, bucket.Label, 0, 0, 0, 0)).ToArray();
        foreach (var day in days)
        {
            // A time in the future (a clock ahead on the host) counts as today.
            var age = Math.Max(0, today.DayNumber - DateOnly.ParseExact(day.Key, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture).DayNumber);
            var i = Array.FindIndex(AgeBuckets, bucket => age <= bucket.UpToDays);
            sums[i] = Add(sums[i], day);
        }
        return sums;
    }

    /// <summary>The largest buckets by bytes, the rest summed into "(other)".</summary>
    private static CapacityBucket[] Largest(IEnumerable<CapacityBucket> rows, int limit, Func<string, string> label)
    {
        var sorted = rows.OrderByDescending(row => row.Bytes).ThenBy(row => row.Key, StringComparer.Ordinal).ToList();
        var top = sorted.Take(limit).Select(row => row with { Label = label(row.Key) }).ToList();
        if (sorted.Count > limit)
        {
            top.Add(sorted.Skip(limit).Aggregate(new CapacityBucket("(other)", $"{sorted.Count - limit} more", 0, 0, 0, 0), Add));
        }
        return [.. top];
    }

    private static IEnumerable<CapacityBucket> Merge(IEnumerable<CapacityBucket> rows) =>
        rows.GroupBy(row => row.Key).Select(group => group.Aggregate(new CapacityBucket(group.Key, group.Key, 0, 0, 0, 0), Add));

    private static CapacityBucket Add(CapacityBucket sum, CapacityBucket row) => sum with
    {
        Files = sum.Files + row.Files, Bytes = sum.Bytes + row.Bytes, TieredFiles = sum.TieredFiles + row.TieredFiles, TieredBytes = sum.TieredBytes + row.TieredBytes,
    };

    private static string SizeLabel(string key) => key switch
    {
        "0" => "empty",
        "1" => "under 4 KiB",
        "4096" => "4–64 KiB",
        "65536" => "64 KiB–1 MiB",
        "1048576" => "1–16 MiB",
        "16777216" => "16–256 MiB",
        "268435456" => "256 MiB–1 GiB",
        "1073741824" => "1–16 GiB",
        "17179869184" => "16–256 GiB",
        _ => "256 GiB and more",
    };
}
