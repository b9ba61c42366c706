using Alto.Gateway.Validation;
using Npgsql;
using static Alto.Gateway.ReadModels.SqlValues;

namespace Alto.Gateway.ReadModels;

public sealed record JobView(
    Guid Id, Guid HostId, Guid? RuleId, Guid TargetId, int Priority, string Status, int FileCount, long TotalBytes, long EstimatedSeconds,
    int Attempts, DateTimeOffset? LeaseUntil, string? LastError, DateTimeOffset CreatedAt, DateTimeOffset? DispatchedAt, DateTimeOffset? CompletedAt)
{
    /// <summary>When an admin cancelled the job while files of it were out; it ends cancelled once the agent reports them.</summary>
    public DateTimeOffset? CancelRequestedAt { get; init; }

    /// <summary>Who cancelled it and why.</summary>
    public string? CancelReason { get; init; }
}

public sealed record TierObjectView(
    long Id, Guid HostId, string Path, string State, Guid? RuleId, Guid? TargetId, Guid? JobId, long SizeBytes, int Attempts, string? LastError,
    string? Sha256, string? Locator, DateTimeOffset? PlannedAt, DateTimeOffset? ActedAt, DateTimeOffset? LastAccessedAt, long AccessCount)
{
    /// <summary>When a failed file is tried again, or a refused one planned again; null when nothing waits.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }
}

public sealed record TierStateCount(string State, long Files, long Bytes);

/// <summary>What a list of tier objects is narrowed to; null members narrow nothing.</summary>
public sealed record TierObjectFilter(Guid? HostId, string? State, string? PathPrefix, Guid? JobId);

/// <summary>Jobs and tier objects of a tenant, from alto.tiering_job and alto.tier_object: what is planned, sent, stubbed, recalled.</summary>
public sealed class TieringReadModel(NpgsqlDataSource db)
{
    public static readonly string[] JobStatuses = ["awaiting_approval", "queued", "dispatched", "running", "completed", "failed", "cancelled", "declined"];

    public static readonly string[] TierStates = ["PLANNED", "DISPATCHED", "UPLOADING", "UPLOADED", "STUBBED", "RECALLING", "RECALLED", "FAILED", "ABANDONED", "SKIPPED", "LOST"];

    private const string JobColumns =
        "id, host_id, rule_id, target_id, priority, status, file_count, total_bytes, estimated_seconds, attempts, lease_until, last_error, created_at, dispatched_at, completed_at, cancel_requested_at, cancel_reason";

    public Task<Page<JobView>> ListJobsAsync(Guid tenantId, Guid? hostId, string? status, PageRequest page, CancellationToken cancellationToken) =>
        db.ReadPageAsync(
            new ListQuery(
                JobColumns,
                "alto.tiering_job",
                "tenant_id = $1 AND ($2::uuid IS NULL OR host_id = $2) AND ($3::text IS NULL OR status = $3)",
                "created_at DESC, id",
                () => [Uuid(tenantId), Uuid(hostId), Text(status)]),
            page,
            ReadJob,
            cancellationToken);

    /// <summary>One job of the tenant; null when there is none by that id in this tenant.</summary>
    public async Task<JobView?> GetJobAsync(Guid tenantId, Guid jobId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"SELECT {JobColumns} FROM alto.tiering_job WHERE id = $1 AND tenant_id = $2");
        command.Parameters.Add(Uuid(jobId));
        command.Parameters.Add(Uuid(tenantId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadJob(reader) : null;
    }

    private static JobView ReadJob(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetGuid(1), reader.NullableGuid(2), reader.GetGuid(3), reader.GetInt32(4), reader.GetString(5), reader.GetInt32(6),
        reader.GetInt64(7), reader.GetInt64(8), reader.GetInt32(9), reader.NullableTime(10), reader.NullableText(11),
        reader.GetFieldValue<DateTimeOffset>(12), reader.NullableTime(13), reader.NullableTime(14))
    {
        CancelRequestedAt = reader.NullableTime(15), CancelReason = reader.NullableText(16),
    };

    /// <summary>A tenant's tier objects, by path: of one host, in one state, of one job, below a path, as asked.</summary>
    public Task<Page<TierObjectView>> ListTierObjectsAsync(
        Guid tenantId, TierObjectFilter filter, PageRequest page, CancellationToken cancellationToken) =>
        db.ReadPageAsync(
            new ListQuery(
                "id, host_id, full_path, state, rule_id, target_id, job_id, size_bytes, attempts, last_error, hash, locator, planned_utc, acted_utc, last_accessed_utc, access_count, next_attempt_utc",
                "alto.tier_object",
                """
                tenant_id = $1 AND ($2::uuid IS NULL OR host_id = $2) AND ($3::text IS NULL OR state = $3) AND ($5::uuid IS NULL OR job_id = $5)
                AND ($4::text IS NULL OR CASE
                    -- A Windows host's paths: either slash in the prefix, and no regard to case.
                    WHEN (SELECT h.os FROM alto.host h WHERE h.id = tier_object.host_id) = 'windows' THEN
                        lower(rtrim(full_path, '\')) = lower(rtrim(replace($4, '/', '\'), '\'))
                        OR left(lower(full_path), length(rtrim(replace($4, '/', '\'), '\')) + 1) = lower(rtrim(replace($4, '/', '\'), '\')) || '\'
                    ELSE full_path = $4 OR left(full_path, length(rtrim($4, '/')) + 1) = rtrim($4, '/') || '/' END)
                """,
                "full_path, id",
                () => [Uuid(tenantId), Uuid(filter.HostId), Text(filter.State), Text(filter.PathPrefix), Uuid(filter.JobId)]),
            page,
            reader => new TierObjectView(
                reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.NullableGuid(4), reader.NullableGuid(5),
                reader.NullableGuid(6), reader.GetInt64(7), reader.GetInt32(8), reader.NullableText(9), reader.NullableText(10), reader.NullableText(11),
                reader.NullableTime(12), reader.NullableTime(13), reader.NullableTime(14), reader.GetInt64(15)) { NextAttemptAt = reader.NullableTime(16) },
            cancellationToken);

    /// <summary>Files and bytes per state (progress of a plan, a job or a recall at a glance), of one host or one job if asked.</summary>
    public async Task<TierStateCount[]> SummarizeAsync(Guid tenantId, Guid? hostId, Guid? jobId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT state, count(*), coalesce(sum(size_bytes), 0)::bigint FROM alto.tier_object
            WHERE tenant_id = $1 AND ($2::uuid IS NULL OR host_id = $2) AND ($3::uuid IS NULL OR job_id = $3)
            GROUP BY state ORDER BY state
            """);
        command.Parameters.Add(Uuid(tenantId));
        command.Parameters.Add(Uuid(hostId));
        command.Parameters.Add(Uuid(jobId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var counts = new List<TierStateCount>();
        while (await reader.ReadAsync(cancellationToken))
        {
            counts.Add(new TierStateCount(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        }
        return [.. counts];
    }

    /// <summary>
    /// The jobs waiting for approval (of one host, or all the tenant's), each with the figures its
    /// plan gave (files, bytes, transfer estimate, its rule's name) and a few of its paths.
    /// </summary>
    public async Task<AwaitingJob[]> ListAwaitingApprovalAsync(Guid tenantId, Guid? hostId, int samplesPerJob, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT j.id, j.host_id, j.rule_id, r.name, j.target_id, j.file_count, j.total_bytes, j.estimated_seconds, j.created_at,
                   array(SELECT t.full_path FROM alto.tier_object t WHERE t.job_id = j.id ORDER BY t.full_path LIMIT $3)
            FROM alto.tiering_job j LEFT JOIN alto.rule r ON r.id = j.rule_id
            WHERE j.tenant_id = $1 AND ($2::uuid IS NULL OR j.host_id = $2) AND j.status = 'awaiting_approval'
            ORDER BY j.host_id, j.priority, j.created_at
            """);
        command.Parameters.Add(Uuid(tenantId));
        command.Parameters.Add(Uuid(hostId));
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = samplesPerJob });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<AwaitingJob>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var createdAt = await reader.GetFieldValueAsync<DateTimeOffset>(8, cancellationToken);
            var samples = await reader.GetFieldValueAsync<string[]>(9, cancellationToken);
            jobs.Add(new AwaitingJob(
                reader.GetGuid(0), reader.GetGuid(1), reader.NullableGuid(2), reader.NullableText(3), reader.GetGuid(4), reader.GetInt32(5),
                reader.GetInt64(6), reader.GetInt64(7), createdAt, samples));
        }
        return [.. jobs];
    }
}

/// <summary>A job planned under manual approval: what approving it would move.</summary>
public sealed record AwaitingJob(
    Guid Id, Guid HostId, Guid? RuleId, string? RuleName, Guid TargetId, int FileCount, long TotalBytes, long EstimatedSeconds, DateTimeOffset CreatedAt,
    string[] SamplePaths);
