using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Alto.Audit;

/// <summary>
/// Ships every chain's new entries to a SIEM sink, in chain order, in batches. A chain's cursor
/// (alto.audit_forward_cursor) moves only after the sink took the batch, so an endpoint that is
/// down loses nothing: the same entries are offered again until it takes them. Delivery is at
/// least once: an endpoint that took a batch but failed to answer gets it again (each entry
/// carries its chain and seq to recognise repeats).
/// </summary>
public sealed partial class AuditForwarder(NpgsqlDataSource db, IAuditSink sink, AuditForwardOptions options, ILogger logger, AuditForwardGauge? gauge = null)
{
    private const string PlatformChain = "platform";

    /// <summary>Forwards every chain to its end once; returns how many entries went out. Throws when the sink fails.</summary>
    public async Task<int> ForwardOnceAsync(CancellationToken cancellationToken)
    {
        var delivered = 0;
        foreach (var tenantId in await AuditChain.ChainsAsync(db, cancellationToken))
        {
            var chain = tenantId?.ToString() ?? PlatformChain;
            var cursor = await CursorAsync(chain, cancellationToken);
            while (true)
            {
                var batch = new List<AuditRecord>(options.BatchSize);
                await foreach (var entry in AuditRecords.ReadChainAsync(db, tenantId, cursor, options.BatchSize, cancellationToken))
                {
                    batch.Add(entry);
                }
                if (batch.Count == 0)
                {
                    break;
                }
                await sink.DeliverAsync(batch, cancellationToken);
                cursor = batch[^1].Seq;
                await SaveCursorAsync(chain, cursor, cancellationToken);
                delivered += batch.Count;
            }
        }
        return delivered;
    }

    /// <summary>Forwards until cancelled: a pass every interval; while the sink fails, waits longer each time (up to MaxBackoff) and says so once per outage.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var wait = options.Interval;
        var failing = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var delivered = await ForwardOnceAsync(cancellationToken);
                gauge?.Set(options.Name, 0);
                if (failing)
                {
                    LogRecovered(logger, options.Kind, delivered);
                }
                failing = false;
                wait = options.Interval;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping mid-batch: that batch's cursor did not move, so it goes again next time.
                return;
            }
            catch (Exception exception) when (exception is IOException or HttpRequestException or System.Net.Sockets.SocketException
                                                  or TaskCanceledException or NpgsqlException
                                              && !cancellationToken.IsCancellationRequested)
            {
                if (!failing)
                {
                    LogFailing(logger, options.Kind, exception.Message);
                }
                failing = true;
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, options.MaxBackoff.Ticks));
                await CountPendingAsync(cancellationToken);
            }
            try
            {
                await Task.Delay(wait, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>How far behind the sink is, for the gauge: the entries after this forwarder's cursor in every chain (one index lookup a chain).</summary>
    private async Task CountPendingAsync(CancellationToken cancellationToken)
    {
        if (gauge is null)
        {
            return;
        }
        try
        {
            await using var command = db.CreateCommand("""
                SELECT coalesce(sum(greatest(coalesce(h.last, 0) - coalesce(c.chain_seq, 0), 0)), 0)::bigint
                FROM (SELECT 'platform' AS chain, (SELECT max(chain_seq) FROM alto.audit_log WHERE tenant_id IS NULL) AS last
                      UNION ALL
                      SELECT t.id::text, (SELECT max(a.chain_seq) FROM alto.audit_log a WHERE a.tenant_id = t.id) FROM alto.tenant t) h
                LEFT JOIN alto.audit_forward_cursor c ON c.forwarder = $1 AND c.chain = h.chain
                """);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = options.Name });
            gauge.Set(options.Name, (long)(await command.ExecuteScalarAsync(cancellationToken))!);
        }
        catch (Exception exception) when (exception is NpgsqlException or OperationCanceledException)
        {
            // The database itself is what fails (or the process stops): the gauge keeps its last reading; the log already says why.
        }
    }

    private async Task<long> CursorAsync(string chain, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT chain_seq FROM alto.audit_forward_cursor WHERE forwarder = $1 AND chain = $2");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = options.Name });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = chain });
        return await command.ExecuteScalarAsync(cancellationToken) as long? ?? 0;
    }

    private async Task SaveCursorAsync(string chain, long seq, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            INSERT INTO alto.audit_forward_cursor (forwarder, chain, chain_seq) VALUES ($1, $2, $3)
            ON CONFLICT (forwarder, chain) DO UPDATE SET chain_seq = excluded.chain_seq, updated_at = now()
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = options.Name });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = chain });
        command.Parameters.Add(new NpgsqlParameter { Value = seq, NpgsqlDbType = NpgsqlDbType.Bigint });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit forwarding ({Kind}) is failing and will keep trying; nothing is lost meanwhile: {Reason}")]
    private static partial void LogFailing(ILogger logger, string kind, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Audit forwarding ({Kind}) works again; {Entries} entries caught up")]
    private static partial void LogRecovered(ILogger logger, string kind, int entries);
}
