using Alto.Gateway.Validation;
using Alto.Audit;
using Npgsql;
using static Alto.Gateway.ReadModels.SqlValues;

namespace Alto.Gateway.ReadModels;

/// <summary>What to list: every filter is optional; <see cref="Action"/> matches an action or an action family ("tier" → "tier.*").</summary>
public sealed record AuditFilter(DateTimeOffset? From, DateTimeOffset? To, string? Actor, string? Action, Guid? HostId, string? PathPrefix);

/// <summary>
/// Reads a chain of alto.audit_log (a tenant's, or with no tenant the platform's): filtered pages,
/// newest first, and the export from a cursor in chain order. Prefixes are compared as prefixes
/// (left(…) = …), not with LIKE, so no character of an action or a path needs escaping; a path
/// prefix matches below it in either flavour (/srv/data/…, C:\Data\…).
/// </summary>
public sealed class AuditReadModel(NpgsqlDataSource db)
{
    public Task<Page<AuditRecord>> ListAsync(Guid? tenantId, AuditFilter filter, PageRequest page, CancellationToken cancellationToken) =>
        db.ReadPageAsync(
            new ListQuery(AuditRecords.Columns, "alto.audit_log",
                $"""
                {AuditRecords.Chain(tenantId)}
                AND ($2::timestamptz IS NULL OR at >= $2) AND ($3::timestamptz IS NULL OR at < $3)
                AND ($4::text IS NULL OR actor = $4)
                AND ($5::text IS NULL OR action = $5 OR left(action, length($5) + 1) = $5 || '.')
                AND ($6::uuid IS NULL OR host_id = $6)
                AND ($7::text IS NULL OR path = $7 OR left(path, length(rtrim($7, '/\')) + 1) IN (rtrim($7, '/\') || '/', rtrim($7, '/\') || '\'))
                """,
                "chain_seq DESC",
                () => [Uuid(tenantId), Time(filter.From), Time(filter.To), Text(filter.Actor), Text(filter.Action), Uuid(filter.HostId), Text(filter.PathPrefix)]),
            page, AuditRecords.Read, cancellationToken);

    public IAsyncEnumerable<AuditRecord> ExportAsync(Guid? tenantId, long after, int limit, CancellationToken cancellationToken) =>
        AuditRecords.ReadChainAsync(db, tenantId, after, limit, cancellationToken);
}
