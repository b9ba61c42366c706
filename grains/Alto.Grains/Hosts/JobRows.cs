using Alto.Audit;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tiers;
using Npgsql;

namespace Alto.Grains.Hosts;

/// <summary>A job claimed for delivery, and which sending of it this is; <see cref="Cancelled"/> when an admin cancelled it while it was out (sent again to be reported, not tiered).</summary>
public sealed record ClaimedJob(Guid JobId, Guid TenantId, Guid TargetId, bool Cancelled, int Attempt);

/// <summary>An admin's cancellation of a job the agent had: why (with who), and how long its files not tiered are held.</summary>
public sealed record JobCancelRequest(string Reason, TimeSpan Hold);

/// <summary>
/// alto.tiering_job as the host grain dispatches it: claims, approvals, leases, results checked
/// and jobs closed. A claim takes the host's advisory lock (the planner's and the ingest's, which
/// run in other grains), so a job's files stop being the planner's the moment it is sent.
/// </summary>
public sealed class JobRows(NpgsqlDataSource db)
{
    /// <summary>Claims the next job to send, oldest expired lease first, then by rule priority; null when none may go now.</summary>
    public async Task<ClaimedJob?> ClaimNextAsync(Guid hostId, TimeSpan lease, int maxInFlight)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await LockHostAsync(connection, transaction, hostId, CancellationToken.None);
        await using var claim = new NpgsqlCommand("""
            WITH in_flight AS (
                SELECT count(*) AS n FROM alto.tiering_job WHERE host_id = $1 AND status = 'dispatched' AND lease_until > now()),
            next AS (
                SELECT id FROM alto.tiering_job
                WHERE host_id = $1
                  AND ((status = 'queued' AND (lease_until IS NULL OR lease_until <= now()))
                       OR (status = 'dispatched' AND lease_until <= now()))
                ORDER BY status = 'queued', priority, created_at
                LIMIT 1
                FOR UPDATE SKIP LOCKED)
            UPDATE alto.tiering_job j
            SET status = 'dispatched', dispatched_at = now(), lease_until = now() + $2, attempts = j.attempts + 1
            FROM next
            WHERE j.id = next.id AND (SELECT n FROM in_flight) < $3
            RETURNING j.id, j.tenant_id, j.target_id, j.cancel_requested_at IS NOT NULL, j.attempts
            """, connection, transaction);
        claim.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        claim.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = lease });
        claim.Parameters.Add(new NpgsqlParameter<int> { TypedValue = maxInFlight });
        ClaimedJob? claimed = null;
        await using (var reader = await claim.ExecuteReaderAsync())
        {
            if (await reader.ReadAsync())
            {
                claimed = new ClaimedJob(reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetBoolean(3), reader.GetInt32(4));
            }
        }
        await transaction.CommitAsync();
        return claimed;
    }

    /// <summary>Approves the host's waiting jobs (those given, or all), with the audit entry of what was approved in the same transaction.</summary>
    public async Task<ApprovedJobs> ApproveAsync(Guid hostId, Guid[]? jobIds, string actor, Func<ApprovedJobs, AuditEntry> entryOf)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var (ids, files, bytes) = (new List<Guid>(), 0L, 0L);
        await using (var command = new NpgsqlCommand("""
            UPDATE alto.tiering_job
            SET status = 'queued', approved_by = $3, approved_at = now()
            WHERE host_id = $1 AND status = 'awaiting_approval' AND ($2::uuid[] IS NULL OR id = ANY($2))
            RETURNING id, file_count, total_bytes
            """, connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)jobIds ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Uuid });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = actor });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                ids.Add(reader.GetGuid(0));
                files += reader.GetInt32(1);
                bytes += reader.GetInt64(2);
            }
        }
        var approved = new ApprovedJobs([.. ids], files, bytes);
        if (ids.Count > 0)
        {
            await AuditLog.AppendAsync(connection, transaction, entryOf(approved), CancellationToken.None);
        }
        await transaction.CommitAsync();
        return approved;
    }

    /// <summary>The host's advisory lock for the rest of the transaction: the planner's and the ingest's, so no plan moves the host's files meanwhile.</summary>
    private static async Task LockHostAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid hostId, CancellationToken cancellationToken)
    {
        await using var lockHost = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext($1::text))", connection, transaction);
        lockHost.Parameters.Add(new NpgsqlParameter<string> { TypedValue = hostId.ToString() });
        await lockHost.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The host's jobs that wait for approval, oldest first.</summary>
    public async Task<Guid[]> AwaitingAsync(Guid hostId)
    {
        await using var command = db.CreateCommand("SELECT id FROM alto.tiering_job WHERE host_id = $1 AND status = 'awaiting_approval' ORDER BY created_at, id");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<Guid>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }
        return [.. ids];
    }

    /// <summary>
    /// Declines those of the given jobs that are the host's and wait, in the caller's transaction: each
    /// ends 'declined', saying <paramref name="why"/>. Under the planner's lock, so no plan moves
    /// their files meanwhile. Returns the jobs and their planned files, for the ledger to hold back.
    /// </summary>
    public static async Task<DeclinedJobRows> DeclineAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid hostId, Guid[] jobIds, string why, CancellationToken cancellationToken)
    {
        await LockHostAsync(connection, transaction, hostId, cancellationToken);
        var (ids, files, bytes) = (new List<Guid>(), 0L, 0L);
        await using (var decline = new NpgsqlCommand("""
            UPDATE alto.tiering_job
            SET status = 'declined', completed_at = now(), last_error = $3
            WHERE host_id = $1 AND status = 'awaiting_approval' AND id = ANY($2)
            RETURNING id, file_count, total_bytes
            """, connection, transaction))
        {
            decline.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
            decline.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = jobIds });
            decline.Parameters.Add(new NpgsqlParameter<string> { TypedValue = why });
            await using var reader = await decline.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                ids.Add(reader.GetGuid(0));
                files += reader.GetInt32(1);
                bytes += reader.GetInt64(2);
            }
        }
        return new DeclinedJobRows(new DeclinedJobs([.. ids], files, bytes), await PlannedFilesAsync(connection, transaction, hostId, [.. ids], cancellationToken));
    }

    /// <summary>The planned files of the host's given jobs, in the caller's transaction: those a decline or a cancellation holds.</summary>
    private static async Task<long[]> PlannedFilesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid hostId, Guid[] jobIds, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand(
            "SELECT id FROM alto.tier_object WHERE host_id = $1 AND job_id = ANY($2) AND state = 'PLANNED' ORDER BY id", connection, transaction);
        select.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        select.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = jobIds });
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var planned = new List<long>();
        while (await reader.ReadAsync(cancellationToken))
        {
            planned.Add(reader.GetInt64(0));
        }
        return [.. planned];
    }

    /// <summary>
    /// Cancels one of the host's jobs, in the caller's transaction and under the planner's lock. A
    /// job no agent has (waiting for approval, or queued with no file out) ends 'cancelled' at once,
    /// saying <paramref name="why"/>, and its planned files are returned for the ledger to hold. A
    /// job with files out (dispatched, or queued again with files the agent left untouched when
    /// tier 2 was unreachable) keeps its status with the request noted (<see cref="JobCancelRequest"/>),
    /// and a queued one goes to the agent at once: its files are the agent's to report. Any other
    /// status is returned as it is: null for no such job of the host.
    /// </summary>
    public static async Task<CancelledJobRows> CancelAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid hostId, Guid jobId, string why, TimeSpan hold, CancellationToken cancellationToken)
    {
        await LockHostAsync(connection, transaction, hostId, cancellationToken);
        await using var cancel = new NpgsqlCommand("""
            WITH job AS (
                SELECT id, status, cancel_requested_at IS NOT NULL AS asked,
                       EXISTS (SELECT 1 FROM alto.tier_object t WHERE t.host_id = $1 AND t.job_id = $2 AND t.state = 'DISPATCHED') AS out
                FROM alto.tiering_job WHERE id = $2 AND host_id = $1 FOR UPDATE),
            decided AS (
                SELECT id, status, asked,
                       CASE WHEN status IN ('awaiting_approval', 'queued') AND NOT out THEN 'cancelled'
                            WHEN status IN ('dispatched', 'queued') AND NOT asked THEN 'cancelling' END AS outcome
                FROM job),
            changed AS (
                UPDATE alto.tiering_job j
                SET status = CASE WHEN d.outcome = 'cancelled' THEN 'cancelled' ELSE j.status END,
                    completed_at = CASE WHEN d.outcome = 'cancelled' THEN now() END,
                    lease_until = CASE WHEN j.status = 'dispatched' AND d.outcome = 'cancelling' THEN j.lease_until END,
                    last_error = CASE WHEN d.outcome = 'cancelled' THEN $3 ELSE j.last_error END,
                    cancel_requested_at = coalesce(j.cancel_requested_at, now()), cancel_reason = $3, cancel_hold = $4
                FROM decided d
                WHERE j.id = d.id AND d.outcome IS NOT NULL
                RETURNING j.id)
            SELECT status, outcome, asked AND status IN ('dispatched', 'queued'), (SELECT count(*) FROM changed) FROM decided
            """, connection, transaction);
        cancel.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        cancel.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = jobId });
        cancel.Parameters.Add(new NpgsqlParameter<string> { TypedValue = why });
        cancel.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = hold });
        string before;
        string? outcome;
        bool askedBefore;
        await using (var reader = await cancel.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return new CancelledJobRows(null, null, []);
            }
            (before, outcome, askedBefore) = (reader.GetString(0), await reader.IsDBNullAsync(1, cancellationToken) ? null : reader.GetString(1), reader.GetBoolean(2));
        }
        if (outcome != "cancelled")
        {
            // Still the agent's, asked before, or over: nothing of its files moves now.
            return new CancelledJobRows(before, outcome, []) { AskedBefore = outcome is null && askedBefore };
        }
        return new CancelledJobRows(before, outcome, await PlannedFilesAsync(connection, transaction, hostId, [jobId], cancellationToken));
    }

    /// <summary>
    /// A new session of the host: jobs sent to an earlier one may go again at once instead of
    /// waiting out their lease (an agent that restarted lost them; one that only reconnected runs
    /// the new sending after the one still running, and finds its files already stubs: nothing is
    /// uploaded twice).
    /// </summary>
    public async Task ReleaseLeasesAsync(Guid hostId)
    {
        await using var command = db.CreateCommand(
            "UPDATE alto.tiering_job SET lease_until = now() WHERE host_id = $1 AND status = 'dispatched' AND lease_until > now()");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Why a job result a host's agent sent is not that host's to give, or null when it is: the
    /// job must be the host's, and every tier object the host's and in that job (the ids are
    /// sequential: an agent could name another tenant's). Also the job's cancellation, if an admin asked for one.
    /// </summary>
    public async Task<(string? Refusal, JobCancelRequest? Cancel)> CheckReportAsync(Guid hostId, Guid jobId, long[] tierObjectIds)
    {
        await using var command = db.CreateCommand("""
            SELECT j.host_id, j.cancel_reason, j.cancel_hold,
                   (SELECT count(*) FROM unnest($3::bigint[]) AS r(id) LEFT JOIN alto.tier_object t ON t.id = r.id
                    WHERE t.id IS NULL OR t.host_id <> $1 OR t.job_id IS DISTINCT FROM $2)
            FROM (SELECT 1) AS one LEFT JOIN alto.tiering_job j ON j.id = $2
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = jobId });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = tierObjectIds });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        var jobHost = await reader.IsDBNullAsync(0) ? (Guid?)null : reader.GetGuid(0);
        var cancel = await reader.IsDBNullAsync(1) ? null : new JobCancelRequest(reader.GetString(1), await reader.GetFieldValueAsync<TimeSpan>(2));
        var foreign = reader.GetInt64(3);
        return (jobHost != hostId ? $"job {jobId} is not a job of this host"
            : foreign > 0 ? $"{foreign} of the {tierObjectIds.Length} tier object(s) named are not this host's files of job {jobId}"
            : null, jobHost == hostId ? cancel : null);
    }

    /// <summary>The files of a job still to be done (planned, or dispatched and not yet reported); with <paramref name="onlyPlanned"/> those never sent.</summary>
    public async Task<TierJobFile[]> OpenFilesAsync(Guid jobId, bool onlyPlanned = false)
    {
        await using var command = db.CreateCommand("""
            SELECT t.id, t.full_path, f.path_escaped, t.size_bytes, coalesce(t.planned_mtime_unix, f.mtime_unix)
            FROM alto.tier_object t JOIN alto.file_current f ON f.file_current_id = t.file_current_id
            WHERE t.job_id = $1 AND t.state IN ('PLANNED', 'DISPATCHED') AND (NOT $2 OR t.state = 'PLANNED')
            ORDER BY t.full_path
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = jobId });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = onlyPlanned });
        await using var reader = await command.ExecuteReaderAsync();
        var files = new List<TierJobFile>();
        while (await reader.ReadAsync())
        {
            files.Add(new TierJobFile(reader.GetInt64(0), reader.GetString(1), reader.GetBoolean(2), reader.GetInt64(3), reader.GetInt64(4)));
        }
        return [.. files];
    }

    /// <summary>
    /// Closes a job the agent finished: queued again (not before <paramref name="retryAfter"/>,
    /// with <paramref name="error"/>) while any of its files is still open (tier 2 was
    /// unreachable); otherwise cancelled when an admin cancelled it (with the reason given),
    /// failed when files failed and none was stubbed, else completed. A job
    /// with failed files carries how many and the commonest reason in its last error.
    /// </summary>
    /// <remarks>The audit entry <paramref name="entryOf"/> makes of how it ended, if any, is written in the same transaction.</remarks>
    public async Task<FinishedJob?> FinishAsync(Guid hostId, Guid jobId, TimeSpan retryAfter, string? error, Func<FinishedJob, AuditEntry?>? entryOf = null)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand("""
            UPDATE alto.tiering_job j
            SET status = CASE WHEN c.open > 0 THEN 'queued' WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled'
                              WHEN c.failed > 0 AND c.stubbed = 0 THEN 'failed' ELSE 'completed' END,
                completed_at = CASE WHEN c.open = 0 THEN now() END,
                lease_until = CASE WHEN c.open = 0 THEN NULL ELSE now() + $2 END,
                last_error = CASE WHEN c.open > 0 THEN $3
                                  WHEN j.cancel_requested_at IS NOT NULL THEN j.cancel_reason
                                  WHEN c.failed > 0 THEN format('%s of %s files failed: %s', c.failed, c.total, c.reason)
                                  ELSE NULL END
            FROM (SELECT count(*) FILTER (WHERE state IN ('PLANNED', 'DISPATCHED')) AS open,
                         count(*) FILTER (WHERE state = 'FAILED') AS failed,
                         count(*) FILTER (WHERE state = 'STUBBED') AS stubbed,
                         count(*) AS total,
                         mode() WITHIN GROUP (ORDER BY last_error) FILTER (WHERE state = 'FAILED') AS reason
                  FROM alto.tier_object WHERE job_id = $1) c
            WHERE j.id = $1 AND j.status = 'dispatched' AND j.host_id = $4
            RETURNING j.status, j.last_error, c.failed
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = jobId });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = retryAfter });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)error ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        FinishedJob ended;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            if (!await reader.ReadAsync())
            {
                return null;
            }
            ended = new FinishedJob(jobId, reader.GetString(0), await reader.IsDBNullAsync(1) ? null : reader.GetString(1), reader.GetInt64(2));
        }
        if (entryOf?.Invoke(ended) is { } entry)
        {
            await AuditLog.AppendAsync(connection, transaction, entry, CancellationToken.None);
        }
        await transaction.CommitAsync();
        return ended;
    }
}

/// <summary>How a job ended: its status (queued again, completed or failed), its last error and its failed files.</summary>
public sealed record FinishedJob(Guid JobId, string Status, string? LastError, long FailedFiles);

/// <summary>
/// A job's cancellation in a transaction still open: its status before (null: no such job of the
/// host), what the cancellation made it ("cancelled" at once, "cancelling" until the agent reports;
/// null: nothing, the job had ended or was asked before), and the files to hold.
/// </summary>
public sealed record CancelledJobRows(string? StatusBefore, string? Outcome, long[] TierObjectIds)
{
    /// <summary>The job was cancelled before, and its files are still out.</summary>
    public bool AskedBefore { get; init; }
}

/// <summary>Jobs declined in a transaction still open, and their planned files.</summary>
public sealed record DeclinedJobRows(DeclinedJobs Jobs, long[] TierObjectIds);
