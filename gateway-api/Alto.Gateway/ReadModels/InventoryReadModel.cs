using System.Text;
using System.Text.RegularExpressions;
using Npgsql;
using NpgsqlTypes;
using static Alto.Gateway.ReadModels.SqlValues;

namespace Alto.Gateway.ReadModels;

/// <summary>What an inventory search filters on (all optional; ages in whole days before now).</summary>
public sealed record InventoryFilter(
    Guid? HostId, string? PathGlob, long? MinSize, long? MaxSize, int? AccessedOverDays, int? AccessedWithinDays, int? ModifiedOverDays,
    string? Owner, string? Extension, bool? Tiered);

/// <summary>A live file of the inventory as a search lists it.</summary>
public sealed record InventoryFile(
    long Id, Guid HostId, string Path, long SizeBytes, DateTimeOffset AccessedAt, DateTimeOffset ModifiedAt, string? Owner, string Extension, bool Tiered);

/// <summary>A page of a search; <see cref="Next"/> is the cursor of the page after it (null: the last page).</summary>
public sealed record InventoryPage(InventoryFile[] Items, string? Next);

/// <summary>
/// An rbh-find over alto.file_current: live files by path glob, size, ages, owner, extension and
/// tier state, in id order with a keyset cursor (a page costs the same deep into the results as
/// at their start).
/// </summary>
public sealed class InventoryReadModel(NpgsqlDataSource db, TimeProvider time)
{
    private const string Columns = "file_current_id, host_id, full_path, size_bytes, atime_unix, mtime_unix, owner, file_extension, is_stub";

    public async Task<InventoryPage> SearchAsync(Guid tenantId, InventoryFilter filter, long after, int limit, CancellationToken cancellationToken)
    {
        await using var command = Command(tenantId, filter, after, limit + 1);
        var items = new List<InventoryFile>(limit + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(Read(reader));
        }
        return items.Count > limit
            ? new InventoryPage([.. items.Take(limit)], items[limit - 1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : new InventoryPage([.. items], null);
    }

    /// <summary>Every match, read as the caller goes (an export: no page size).</summary>
    public async IAsyncEnumerable<InventoryFile> ExportAsync(
        Guid tenantId, InventoryFilter filter, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = Command(tenantId, filter, after: 0, limit: null);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return Read(reader);
        }
    }

    /// <summary>
    /// A glob on the whole path as a regular expression: '**' any characters, '*' any but a
    /// separator, '?' one; all else literal. Matched in full.
    /// </summary>
    public static string GlobPattern(string glob)
    {
        var pattern = new StringBuilder("^");
        for (var i = 0; i < glob.Length; i++)
        {
            if (glob[i] == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                pattern.Append(".*");
                i++;
                continue;
            }
            pattern.Append(glob[i] switch
            {
                '*' => @"[^/\\]*",
                '?' => @"[^/\\]",
                _ => Regex.Escape(glob[i].ToString()),
            });
        }
        return pattern.Append('$').ToString();
    }

    private NpgsqlCommand Command(Guid tenantId, InventoryFilter filter, long after, int? limit)
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var command = db.CreateCommand($"""
            SELECT {Columns} FROM alto.file_current
            WHERE tenant_id = $1 AND deleted_utc IS NULL AND file_current_id > $2
              AND ($3::uuid IS NULL OR host_id = $3)
              AND ($4::text IS NULL OR full_path ~ $4)
              AND ($5::bigint IS NULL OR size_bytes >= $5) AND ($6::bigint IS NULL OR size_bytes <= $6)
              AND ($7::bigint IS NULL OR atime_unix < $7) AND ($8::bigint IS NULL OR atime_unix >= $8) AND ($9::bigint IS NULL OR mtime_unix < $9)
              AND ($10::text IS NULL OR owner = $10) AND ($11::text IS NULL OR lower(file_extension) = $11) AND ($12::boolean IS NULL OR is_stub = $12)
            ORDER BY file_current_id
            {(limit is null ? "" : "LIMIT " + limit.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))}
            """);
        command.Parameters.Add(Uuid(tenantId));
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
        command.Parameters.Add(Uuid(filter.HostId));
        command.Parameters.Add(Text(filter.PathGlob is null ? null : GlobPattern(filter.PathGlob)));
        command.Parameters.Add(Number(filter.MinSize));
        command.Parameters.Add(Number(filter.MaxSize));
        command.Parameters.Add(Number(filter.AccessedOverDays is { } over ? now - over * 86_400L : null));
        command.Parameters.Add(Number(filter.AccessedWithinDays is { } within ? now - within * 86_400L : null));
        command.Parameters.Add(Number(filter.ModifiedOverDays is { } modified ? now - modified * 86_400L : null));
        command.Parameters.Add(Text(filter.Owner));
        command.Parameters.Add(Text(filter.Extension?.TrimStart('.').ToLowerInvariant()));
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Tiered ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Boolean });
        return command;
    }

    private static NpgsqlParameter Number(long? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint };

    private static InventoryFile Read(NpgsqlDataReader reader) => new(
        reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetInt64(3), UnixTime(reader.GetInt64(4)),
        UnixTime(reader.GetInt64(5)), reader.NullableText(6), reader.GetString(7), reader.GetBoolean(8));

    /// <summary>A stored time as it was scanned, before 1970 too (a time no DateTimeOffset holds is shown as the nearest it does).</summary>
    private static DateTimeOffset UnixTime(long seconds) => DateTimeOffset.FromUnixTimeSeconds(
        Math.Clamp(seconds, DateTimeOffset.MinValue.ToUnixTimeSeconds(), DateTimeOffset.MaxValue.ToUnixTimeSeconds()));
}
