using System.Text.Json;
using Alto.Gateway.Validation;
using Npgsql;
using static Alto.Gateway.ReadModels.SqlValues;

namespace Alto.Gateway.ReadModels;

/// <summary>One audit entry as the API and the SIEM export show it; <see cref="Seq"/> is its place in its tenant's chain.</summary>
public sealed record AuditEntryView(
    long Seq, DateTimeOffset At, Guid? TenantId, string Actor, string Action, string ObjectType, string? ObjectId, string Outcome,
    Guid? HostId, string? Path, string? Origin, JsonElement Details, string? PrevHash, string Hash);

/// <summary>What to list: every filter is optional; <see cref="Action"/> matches an action or an action family ("tier" → "tier.*").</summary>
public sealed record AuditFilter(DateTimeOffset? From, DateTimeOffset? To, string? Actor, string? Action, Guid? HostId, string? PathPrefix);

/// <summary>
/// Reads a chain of alto.audit_log (a tenant's, or with no tenant the platform's): filtered pages,
/// newest first, and the export from a cursor in chain order.
/// </summary>
public sealed class AuditReadModel(NpgsqlDataSource db)
{
    private const string Columns = """
        chain_seq, at, tenant_id, actor, action, object_type, object_id, outcome, host_id, path, origin, details::text,
        encode(prev_hash, 'hex'), encode(hash, 'hex')
        """;

    public Task<Page<AuditEntryView>> ListAsync(Guid? tenantId, AuditFilter filter, PageRequest page, CancellationToken cancellationToken) =>
        db.ReadPageAsync(
            new ListQuery(Columns, "alto.audit_log",
                $"""
                {Chain(tenantId)}
                AND ($2::timestamptz IS NULL OR at >= $2) AND ($3::timestamptz IS NULL OR at < $3)
                AND ($4::text IS NULL OR actor = $4)
                AND ($5::text IS NULL OR action = $5 OR action LIKE replace(replace(replace($5, '\', '\\'), '%', '\%'), '_', '\_') || '.%')
                AND ($6::uuid IS NULL OR host_id = $6)
                AND ($7::text IS NULL OR path = $7 OR path LIKE replace(replace(replace(rtrim($7, '/'), '\', '\\'), '%', '\%'), '_', '\_') || '/%')
                """,
                "chain_seq DESC",
                () => [Uuid(tenantId), Time(filter.From), Time(filter.To), Text(filter.Actor), Text(filter.Action), Uuid(filter.HostId), Text(filter.PathPrefix)]),
            page, Read, cancellationToken);

    /// <summary>
    /// Entries after <paramref name="after"/> in chain order, at most <paramref name="limit"/>. Numbers
    /// are handed out under the chain's lock and committed in order, so resuming after the last
    /// number received never skips an entry and never repeats one.
    /// </summary>
    public async IAsyncEnumerable<AuditEntryView> ExportAsync(
        Guid? tenantId, long after, int limit, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} FROM alto.audit_log WHERE {Chain(tenantId)} AND chain_seq > $2 ORDER BY chain_seq LIMIT $3");
        command.Parameters.Add(Uuid(tenantId));
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return Read(reader);
        }
    }

    /// <summary>The chain's condition on $1 (the platform chain has no tenant; $1 is then null and unused).</summary>
    private static string Chain(Guid? tenantId) => tenantId is null ? "tenant_id IS NULL AND $1::uuid IS NULL" : "tenant_id = $1";

    private static AuditEntryView Read(NpgsqlDataReader reader)
    {
        using var details = JsonDocument.Parse(reader.GetString(11));
        return new AuditEntryView(
            reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.NullableGuid(2), reader.GetString(3), reader.GetString(4),
            reader.GetString(5), reader.NullableText(6), reader.GetString(7), reader.NullableGuid(8), reader.NullableText(9), reader.NullableText(10),
            details.RootElement.Clone(), reader.NullableText(12), reader.GetString(13));
    }
}
