using Alto.GrainInterfaces.Live;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Alto.Grains.Live;

/// <summary>
/// Reads the audit trail's new entries every second and publishes each tenant's as a live event
/// for its admins. It tails the table, not the writers: every entry from every process is seen,
/// and only once committed. Ids are taken in one order and may commit in another, so each read
/// looks back over the last <see cref="LookBack"/> ids and skips those already published.
/// </summary>
public sealed partial class LiveAuditGrain(NpgsqlDataSource db, LivePublisher live, ILogger<LiveAuditGrain> logger) : Grain, ILiveAuditGrain
{
    private const int LookBack = 200;
    private const int BatchSize = 500;

    private readonly SortedSet<long> _published = [];
    private long _highest = -1;
    private IGrainTimer? _timer;

    public async Task EnsureRunningAsync()
    {
        if (_highest < 0)
        {
            // Live means from now on: what was written before the tail started is in the audit pages.
            await using var command = db.CreateCommand("SELECT coalesce(max(id), 0) FROM alto.audit_log");
            _highest = (long)(await command.ExecuteScalarAsync())!;
        }
        _timer ??= this.RegisterGrainTimer(TailAsync, new GrainTimerCreationOptions(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)) { KeepAlive = true });
    }

    private async Task TailAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var command = db.CreateCommand("""
                SELECT id, tenant_id, at, actor, action, object_type, object_id, outcome, host_id
                FROM alto.audit_log WHERE id > $1 AND tenant_id IS NOT NULL ORDER BY id LIMIT $2
                """);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = _highest - LookBack });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = BatchSize + LookBack });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var id = reader.GetInt64(0);
                if (id <= _highest - LookBack || !_published.Add(id))
                {
                    continue;
                }
                _highest = Math.Max(_highest, id);
                var hostId = await reader.IsDBNullAsync(8, cancellationToken) ? (Guid?)null : reader.GetGuid(8);
                await live.PublishAsync(reader.GetGuid(1), LiveEventKinds.Audit, LiveAudience.Managers, new
                {
                    id,
                    at = await reader.GetFieldValueAsync<DateTimeOffset>(2, cancellationToken),
                    actor = reader.GetString(3),
                    action = reader.GetString(4),
                    objectType = reader.GetString(5),
                    objectId = await reader.IsDBNullAsync(6, cancellationToken) ? null : reader.GetString(6),
                    succeeded = reader.GetString(7) == "success",
                }, hostId);
            }
            // Only the look-back window is remembered.
            _published.RemoveWhere(id => id <= _highest - LookBack);
        }
        catch (NpgsqlException exception)
        {
            // The next tick reads again from where this one stopped.
            LogTailFailed(logger, exception);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The live audit tail could not read the audit trail; it tries again in a second")]
    private static partial void LogTailFailed(ILogger logger, Exception exception);
}
