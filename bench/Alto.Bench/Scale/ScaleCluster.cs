using Alto.Agent.Enrollment;
using Alto.TestSupport;

namespace Alto.Bench.Scale;

/// <summary>
/// The cluster of the scale bench, every part its own process on one database: three standalone
/// silos and two gateways that are only Orleans clients of them, with tenants of ten hosts each,
/// every host enrolled through the API against the gateway it will talk to.
/// </summary>
internal sealed class ScaleCluster : IAsyncDisposable
{
    public const int Silos = 3;
    public const int Gateways = 2;
    public const int HostsPerTenant = 10;
    private const string ClusterId = "scale";
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    // Production-like heartbeats: a hundred sessions beating every second would be load of the bench's own making.
    private static readonly Dictionary<string, string> GatewaySettings = new()
    {
        ["Alto__Gateway__CoHostSilo"] = "false",
        ["Alto__Agents__HeartbeatSeconds"] = "10",
        ["Alto__Agents__HeartbeatTimeoutSeconds"] = "60",
        ["Logging__LogLevel__Default"] = "Warning",
    };

    private static readonly Dictionary<string, string> SiloSettings = new() { ["Logging__LogLevel__Default"] = "Warning" };

    private readonly List<SiloProcess> _silos = [];
    private readonly List<GatewayProcess> _gateways = [];
    private readonly List<SimulatedAgent> _agents = [];
    private readonly HttpClient _agentHttp = new() { Timeout = TimeSpan.FromMinutes(10) };
    private AdminApi? _admin;

    private ScaleCluster(TestDatabase database) => Database = database;

    public TestDatabase Database { get; }

    public AdminApi Admin => _admin!;

    public IReadOnlyList<SiloProcess> SiloProcesses => _silos;

    public IReadOnlyList<SimulatedAgent> Agents => _agents;

    public List<(Guid Tenant, Guid Target)> Tenants { get; } = [];

    public static async Task<ScaleCluster> StartAsync(int hosts)
    {
        var cluster = new ScaleCluster(await TestDatabase.CreateAsync("scale"));
        try
        {
            await cluster.Database.MigrateAsync();
            for (var i = 0; i < Silos; i++)
            {
                cluster._silos.Add(await SiloProcess.StartAsync(cluster.Database, ClusterId, Patience, settings: SiloSettings));
            }
            for (var i = 0; i < Gateways; i++)
            {
                cluster._gateways.Add(await GatewayProcess.StartAsync(cluster.Database, ClusterId, GatewaySettings, Patience));
            }
            cluster._admin = await AdminApi.SignInAsync(cluster._gateways[0].HttpUrl, GatewayProcess.AdminPassword);
            await cluster.EnrollAsync(hosts);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task EnrollAsync(int hosts)
    {
        for (var t = 0; t < (hosts + HostsPerTenant - 1) / HostsPerTenant; t++)
        {
            var tenant = await Admin.CreateTenantAsync($"scale-{t:00}", tierAtOnce: true);
            var target = await Admin.PostAsync($"/api/v1/tenants/{tenant}/targets", new { name = "nas", kind = "path", settings = new { path = $"/mnt/tier2/{tenant:N}" } });
            Tenants.Add((tenant, target.GetProperty("id").GetGuid()));
        }
        var enrollment = new EnrollmentClient(_agentHttp);
        foreach (var batch in Enumerable.Range(0, hosts).Chunk(HostsPerTenant))
        {
            _agents.AddRange(await Task.WhenAll(batch.Select(async host =>
            {
                var root = $"/srv/fs{host:000}";
                var (_, token) = await Admin.RegisterHostAsync(Tenants[host / HostsPerTenant].Tenant, $"fs{host:000}", root);
                var gateway = _gateways[host % Gateways];
                var credentials = await enrollment.EnrollAsync(gateway.HttpUrl, gateway.GrpcUrl, token, CancellationToken.None);
                return new SimulatedAgent(credentials, root, _agentHttp);
            })));
        }
    }

    /// <summary>What the processes logged as warnings, errors and failures, for a bench that stopped.</summary>
    public IEnumerable<string> Complaints() =>
        _silos.Select((silo, i) => ($"silo {i}", silo.Run.Output)).Concat(_gateways.Select((gateway, i) => ($"gateway {i}", gateway.Run.Output)))
            .SelectMany(process => process.Output.Split('\n')
                .Where(line => line.Contains("fail:", StringComparison.Ordinal) || line.Contains("crit:", StringComparison.Ordinal) || line.Contains("warn:", StringComparison.Ordinal))
                .TakeLast(20).Select(line => $"{process.Item1}: {line}"));

    /// <summary>The grain-call histogram summed over the silos now.</summary>
    public async Task<GrainCallHistogram> GrainCallsAsync() =>
        GrainCallHistogram.Parse(await Task.WhenAll(_silos.Select(silo => silo.MetricsAsync())));

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }
        _admin?.Dispose();
        _agentHttp.Dispose();
        foreach (var gateway in _gateways)
        {
            await gateway.DisposeAsync();
        }
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }
        await Database.DisposeAsync();
    }
}
