using System.Text.Json;
using Alto.Gateway.Validation;
using Npgsql;
using static Alto.Gateway.ReadModels.SqlValues;

namespace Alto.Gateway.ReadModels;

public sealed record ReconcileRunView(
    Guid Id, Guid TargetId, Guid? HostId, string Depth, int SamplePercent, int RequestsPerSecond, string Status, string RequestedBy,
    long ObjectsListed, long ObjectsChecked, IReadOnlyDictionary<string, long> Counts, string? Error,
    DateTimeOffset StartedAt, DateTimeOffset UpdatedAt, DateTimeOffset? FinishedAt, bool AllowMassLoss, int OrphanGraceDays, bool ReclaimOrphans,
    DateTimeOffset? ReclaimBefore);

public sealed record ReconcileFindingView(
    long Id, string Class, string Kind, string? ObjectKey, long? TierObjectId, Guid? HostId, string? Path, string Detail, string Repair, DateTimeOffset FoundAt,
    string? Reclaim);

/// <summary>Reconciliation runs of a tenant and what they found, from alto.reconcile_run and alto.reconcile_finding.</summary>
public sealed class ReconcileReadModel(NpgsqlDataSource db)
{
    public static readonly string[] Classes = ["missing", "orphan", "drift", "found"];

    private const string RunColumns = """
        id, target_id, host_id, depth, sample_percent, requests_per_second, status, requested_by, objects_listed, objects_checked,
        counts::text, error, started_at, updated_at, finished_at, allow_mass_loss, orphan_grace_days, reclaim_orphans, reclaim_before
        """;

    public Task<Page<ReconcileRunView>> ListRunsAsync(Guid tenantId, Guid? targetId, PageRequest page, CancellationToken cancellationToken) =>
        db.ReadPageAsync(
            new ListQuery(RunColumns, "alto.reconcile_run", "tenant_id = $1 AND ($2::uuid IS NULL OR target_id = $2)", "started_at DESC, id",
                () => [Uuid(tenantId), Uuid(targetId)]),
            page, ReadRun, cancellationToken);

    public async Task<ReconcileRunView?> GetRunAsync(Guid tenantId, Guid runId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"SELECT {RunColumns} FROM alto.reconcile_run WHERE tenant_id = $1 AND id = $2");
        command.Parameters.Add(Uuid(tenantId));
        command.Parameters.Add(Uuid(runId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadRun(reader) : null;
    }

    public Task<Page<ReconcileFindingView>> ListFindingsAsync(Guid tenantId, Guid runId, string? findingClass, PageRequest page, CancellationToken cancellationToken) =>
        db.ReadPageAsync(
            new ListQuery(
                "id, class, kind, object_key, tier_object_id, host_id, path, detail, repair, found_at, reclaim",
                "alto.reconcile_finding",
                "tenant_id = $1 AND run_id = $2 AND ($3::text IS NULL OR class = $3)",
                "id",
                () => [Uuid(tenantId), Uuid(runId), Text(findingClass)]),
            page,
            reader => new ReconcileFindingView(
                reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.NullableText(3), reader.IsDBNull(4) ? null : reader.GetInt64(4),
                reader.NullableGuid(5), reader.NullableText(6), reader.GetString(7), reader.GetString(8), reader.GetFieldValue<DateTimeOffset>(9),
                reader.NullableText(10)),
            cancellationToken);

    private static ReconcileRunView ReadRun(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetGuid(1), reader.NullableGuid(2), reader.GetString(3), reader.GetInt32(4), reader.GetInt32(5), reader.GetString(6),
        reader.GetString(7), reader.GetInt64(8), reader.GetInt64(9), JsonSerializer.Deserialize<Dictionary<string, long>>(reader.GetString(10)) ?? [],
        reader.NullableText(11), reader.GetFieldValue<DateTimeOffset>(12), reader.GetFieldValue<DateTimeOffset>(13), reader.NullableTime(14), reader.GetBoolean(15),
        reader.GetInt32(16), reader.GetBoolean(17), reader.NullableTime(18));
}
