using Alto.Agent.Enrollment;
using Alto.TestSupport;

namespace Alto.Bench;

/// <summary>
/// What the ingest and analytics benches start from: a gateway process on a database of its own,
/// signed in as its admin, with one tenant and one enrolled host whose volume is the bench's tree.
/// </summary>
internal sealed class BenchGateway : IAsyncDisposable
{
    private BenchGateway(TestDatabase database, GatewayProcess gateway, AdminApi admin, Guid tenantId, HttpClient http, AgentCredentials agent)
    {
        Database = database;
        Gateway = gateway;
        Admin = admin;
        TenantId = tenantId;
        Http = http;
        Agent = agent;
    }

    public TestDatabase Database { get; }

    public GatewayProcess Gateway { get; }

    public AdminApi Admin { get; }

    public Guid TenantId { get; }

    /// <summary>A client with a timeout long enough for a whole scan's upload.</summary>
    public HttpClient Http { get; }

    public AgentCredentials Agent { get; }

    public static async Task<BenchGateway> StartAsync(string purpose, string tree)
    {
        var database = await TestDatabase.CreateAsync(purpose);
        var gateway = await GatewayProcess.StartAsync(database, "bench", new Dictionary<string, string>(), TimeSpan.FromSeconds(120));
        var admin = await AdminApi.SignInAsync(gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenant = await admin.CreateTenantAsync("bench");
        var (_, token) = await admin.RegisterHostAsync(tenant, "bench-host", tree);
        var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        var agent = await new EnrollmentClient(http).EnrollAsync(gateway.HttpUrl, gateway.GrpcUrl, token, CancellationToken.None);
        return new BenchGateway(database, gateway, admin, tenant, http, agent);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Admin.Dispose();
        await Gateway.DisposeAsync();
        await Database.DisposeAsync();
    }
}
