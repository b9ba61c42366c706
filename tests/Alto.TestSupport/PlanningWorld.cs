using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tenants;
using Npgsql;

namespace Alto.TestSupport;

/// <summary>A file to put in a host's inventory; times are given as ages in seconds before now.</summary>
public sealed record InventoryFile(string Path, long Size, long AccessedAgo, long ModifiedAgo, bool IsStub = false)
{
    public string Extension
    {
        get
        {
            var name = Path[(Path.LastIndexOfAny(['/', '\\']) + 1)..];
            var dot = name.LastIndexOf('.');
            return dot <= 0 ? "" : name[(dot + 1)..].ToLowerInvariant();
        }
    }
}

/// <summary>
/// A tenant with a path target and one host, made through the grains (so rules and targets live
/// where the planner reads them), with an inventory written straight into alto.file_current as an
/// ingest would leave it.
/// </summary>
public sealed class PlanningWorld
{
    public const long Day = 86_400;

    private PlanningWorld(IClusterClient client, TestDatabase database, Guid tenantId, Guid targetId, Guid hostId)
    {
        Client = client;
        Database = database;
        TenantId = tenantId;
        TargetId = targetId;
        HostId = hostId;
    }

    public IClusterClient Client { get; }

    public TestDatabase Database { get; }

    public Guid TenantId { get; }

    public Guid TargetId { get; }

    public Guid HostId { get; }

    public ITenantGrain Tenant => Client.GetGrain<ITenantGrain>(TenantId.ToString());

    /// <summary>A heartbeat's figures from an agent whose recall is armed (and guarded) on the world's volume: jobs may go to it.</summary>
    public static AgentMetrics ArmedMetrics(params string[] volumes) =>
        new(DateTimeOffset.UtcNow, 0, [.. (volumes.Length == 0 ? ["/srv"] : volumes).Select(volume => new VolumeSpace(volume, 1, 2) { RecallArmed = true })], 0, 0, 0)
        {
            RecallSurvivesRestart = true,
        };

    public IHostGrain Host => Client.GetGrain<IHostGrain>(HostId.ToString());

    /// <summary>The host's inventory grain: where it is planned.</summary>
    public IHostInventoryGrain Inventory => Client.GetGrain<IHostInventoryGrain>(HostId.ToString());

    public static async Task<PlanningWorld> CreateAsync(
        IClusterClient client, TestDatabase database, HostOs os = HostOs.Linux, PlanApproval approval = PlanApproval.Auto, long minTierableBytes = 0)
    {
        var tenantId = Guid.NewGuid();
        var tenant = client.GetGrain<ITenantGrain>(tenantId.ToString());
        Require((await tenant.CreateAsync(new CreateTenant($"plan-{tenantId:N}", ""))).Error);
        // The planner's own tests plan files of any size for real; the safe defaults of a new tenant have tests of their own.
        Require((await tenant.UpdateAsync(new UpdateTenant(null, null) { PlanApproval = approval, MinTierableBytes = minTierableBytes })).Error);
        var targetId = Guid.NewGuid();
        Require((await tenant.AddTargetAsync(new CreateStorageTarget(
            targetId, "archive", StorageTargetKind.Path, new StorageTargetSettings("/mnt/archive", null, null, null, null, null, null, false), null))).Error);
        var world = new PlanningWorld(client, database, tenantId, targetId, Guid.NewGuid());
        await world.AddHostAsync(world.HostId, os);
        return world;
    }

    public async Task AddHostAsync(Guid hostId, HostOs os = HostOs.Linux) =>
        Require((await Client.GetGrain<IHostGrain>(hostId.ToString())
            .RegisterAsync(new RegisterHost(TenantId, $"fs-{hostId:N}", os, ["/srv"], TimeSpan.FromHours(1)))).Error);

    public async Task<RuleInfo> AddRuleAsync(string name, RuleCriteria criteria, int? priority = null, RuleAction action = RuleAction.Tier)
    {
        var result = await Tenant.AddRuleAsync(Guid.NewGuid(),
            new RuleDefinition(name, priority, true, action, action == RuleAction.Tier ? TargetId : null, null, criteria));
        Require(result.Error);
        return result.Value!;
    }

    /// <summary>Adds files to the host's live inventory; returns their file_current ids in order.</summary>
    public async Task<long[]> AddFilesAsync(IReadOnlyList<InventoryFile> files, Guid? hostId = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await using var command = Database.DataSource.CreateCommand("""
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, is_stub, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT $1, $2, 0, '', f.path, f.size, f.atime, f.mtime, f.mtime, f.extension, f.stub, 0, 0, now()
            FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::boolean[])
                 WITH ORDINALITY AS f(path, size, atime, mtime, extension, stub, n)
            ORDER BY f.n
            RETURNING file_current_id
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = TenantId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId ?? HostId });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. files.Select(f => f.Path)] });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. files.Select(f => f.Size)] });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. files.Select(f => now - f.AccessedAgo)] });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. files.Select(f => now - f.ModifiedAgo)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. files.Select(f => f.Extension)] });
        command.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. files.Select(f => f.IsStub)] });
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<long>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetInt64(0));
        }
        return [.. ids];
    }

    public Task<long> CountAsync(string where) => Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{HostId}' AND {where}");

    /// <summary>Planned files of the host: file_current id → rule id.</summary>
    public async Task<Dictionary<long, Guid>> PlannedAsync()
    {
        await using var command = Database.DataSource.CreateCommand(
            "SELECT file_current_id, rule_id FROM alto.tier_object WHERE host_id = $1 AND state = 'PLANNED'");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = HostId });
        await using var reader = await command.ExecuteReaderAsync();
        var planned = new Dictionary<long, Guid>();
        while (await reader.ReadAsync())
        {
            planned.Add(reader.GetInt64(0), reader.GetGuid(1));
        }
        return planned;
    }

    /// <summary>Queued jobs of the host with their counts, and what their tier objects actually add up to.</summary>
    public async Task<List<(Guid Id, int Files, long Bytes, long Seconds, long ActualFiles, long ActualBytes)>> JobsAsync()
    {
        await using var command = Database.DataSource.CreateCommand("""
            SELECT j.id, j.file_count, j.total_bytes, j.estimated_seconds, count(t.id), coalesce(sum(t.size_bytes), 0)::bigint
            FROM alto.tiering_job j LEFT JOIN alto.tier_object t ON t.job_id = j.id
            WHERE j.host_id = $1 AND j.status = 'queued'
            GROUP BY j.id
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = HostId });
        await using var reader = await command.ExecuteReaderAsync();
        var jobs = new List<(Guid, int, long, long, long, long)>();
        while (await reader.ReadAsync())
        {
            jobs.Add((reader.GetGuid(0), reader.GetInt32(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)));
        }
        return jobs;
    }

    public async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var command = Database.DataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        await command.ExecuteNonQueryAsync();
    }

    private static void Require(Alto.GrainInterfaces.Common.CommandError? error)
    {
        if (error is not null)
        {
            throw new InvalidOperationException($"{error.Kind}: {error.Message}");
        }
    }
}
