using Alto.Audit;
using Alto.GrainInterfaces.Hosts;
using Npgsql;

namespace Alto.Grains.Hosts;

/// <summary>alto.agent_command: the commands waiting for a host's agent, oldest first, written only by its host grain.</summary>
public sealed class CommandRows(NpgsqlDataSource db)
{
    /// <summary>Queues the commands, with the audit entry of the request that made them when given, in one transaction.</summary>
    public async Task AddAsync(Guid hostId, IReadOnlyList<AgentCommand> commands, AuditEntry? requested = null)
    {
        await using var connection = await db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand("""
            INSERT INTO alto.agent_command (id, host_id, kind, paths, format, issued_at, run_id)
            SELECT c.id, $1, c.kind, ARRAY(SELECT jsonb_array_elements_text(c.paths)), c.format, c.issued_at, c.run_id
            FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::text[], $6::timestamptz[], $7::uuid[]) WITH ORDINALITY AS c(id, kind, paths, format, issued_at, run_id, n)
            ORDER BY c.n
            ON CONFLICT (id) DO NOTHING
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. commands.Select(c => c.Id)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. commands.Select(c => KindName(c.Kind))] });
        command.Parameters.Add(new NpgsqlParameter<string[]>
        {
            TypedValue = [.. commands.Select(c => System.Text.Json.JsonSerializer.Serialize(c.Paths))],
            NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Jsonb,
        });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. commands.Select(c => c.Format)] });
        command.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = [.. commands.Select(c => c.IssuedAt.UtcDateTime)] });
        command.Parameters.Add(new NpgsqlParameter<Guid?[]> { TypedValue = [.. commands.Select(c => c.RunId)] });
        await command.ExecuteNonQueryAsync();
        if (requested is not null)
        {
            await AuditLog.AppendAsync(connection, transaction, requested, CancellationToken.None);
        }
        await transaction.CommitAsync();
    }

    /// <summary>The host's waiting commands, oldest first.</summary>
    public async Task<List<AgentCommand>> ListAsync(Guid hostId)
    {
        await using var command = db.CreateCommand(
            "SELECT id, kind, paths, format, issued_at, run_id FROM alto.agent_command WHERE host_id = $1 ORDER BY seq");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        await using var reader = await command.ExecuteReaderAsync();
        var commands = new List<AgentCommand>();
        while (await reader.ReadAsync())
        {
            commands.Add(new AgentCommand(reader.GetString(0), ParseKind(reader.GetString(1)), await reader.GetFieldValueAsync<string[]>(2), reader.GetString(3),
                new DateTimeOffset(reader.GetDateTime(4), TimeSpan.Zero), await reader.IsDBNullAsync(5) ? null : reader.GetGuid(5)));
        }
        return commands;
    }

    /// <summary>How many commands wait for the host's agent, and whether a scan is among them.</summary>
    public async Task<(int Count, bool ScanWaiting)> CountAsync(Guid hostId)
    {
        await using var command = db.CreateCommand(
            "SELECT count(*)::int, coalesce(bool_or(kind = 'scan'), false) FROM alto.agent_command WHERE host_id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt32(0), reader.GetBoolean(1));
    }

    /// <summary>Removes an acknowledged command; its kind and run, or null when it was not waiting (a job's id, or acknowledged before).</summary>
    public async Task<(AgentCommandKind Kind, Guid? RunId)?> RemoveAsync(Guid hostId, string commandId)
    {
        await using var command = db.CreateCommand("DELETE FROM alto.agent_command WHERE host_id = $1 AND id = $2 RETURNING kind, run_id");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = commandId });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (ParseKind(reader.GetString(0)), await reader.IsDBNullAsync(1) ? null : reader.GetGuid(1)) : null;
    }

    /// <summary>
    /// Removes the host's listings and census questions of reconciliation runs that have ended (a
    /// cancel, a silence, a takeover while the agent was away): an agent handed them would list a
    /// target or stat every stub only to be told the run is over. Re-tiers stay: they outlive their run.
    /// </summary>
    public async Task<int> DropOfEndedRunsAsync(Guid hostId)
    {
        await using var command = db.CreateCommand("""
            DELETE FROM alto.agent_command c USING alto.reconcile_run r
            WHERE c.host_id = $1 AND c.kind IN ('reconcile', 'census') AND r.id = c.run_id
              AND r.status NOT IN ('listing', 'census', 'reclaiming')
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>Removes every command waiting for the host (it is deleted: no agent of it will ever ask).</summary>
    public async Task RemoveAllAsync(Guid hostId)
    {
        await using var command = db.CreateCommand("DELETE FROM alto.agent_command WHERE host_id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        await command.ExecuteNonQueryAsync();
    }

    private static string KindName(AgentCommandKind kind) => kind.ToString().ToLowerInvariant();

    private static AgentCommandKind ParseKind(string kind) => Enum.Parse<AgentCommandKind>(kind, ignoreCase: true);
}
