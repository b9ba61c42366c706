using Alto.GrainInterfaces.Tenants;
using Alto.TestSupport;
using Orleans.TestingHost;

namespace Alto.Grains.Tests;

/// <summary>Stops a silo on purpose; has its own cluster so the shared one keeps all its silos.</summary>
public sealed class SiloFailureTests : IAsyncLifetime
{
    private TestDatabase _database = null!;
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync("failover");
        await _database.MigrateAsync();
        _cluster = await PostgresClusterFixture.StartClusterAsync(_database, 3);
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task StoppingASiloKeepsGrainsReachableWithTheirStateAndMarksItDead()
    {
        var tenants = new Dictionary<Guid, string>();
        for (var i = 0; i < 12; i++)
        {
            var id = Guid.NewGuid();
            var name = $"spread-{i}-{id:N}";
            var result = await _cluster.Client.GetGrain<ITenantGrain>(id.ToString()).CreateAsync(new CreateTenant(name, $"tenant {i}"));
            Assert.True(result.Succeeded, result.Error?.Message);
            tenants[id] = name;
        }

        // Stop a silo that is not the client's only gateway; with 12 grains spread over 3 silos
        // some of them lived there and must come back elsewhere from PostgreSQL.
        var victim = _cluster.SecondarySilos[^1];
        await _cluster.StopSiloAsync(victim);

        foreach (var (id, name) in tenants)
        {
            var tenant = await _cluster.Client.GetGrain<ITenantGrain>(id.ToString()).GetAsync();
            Assert.NotNull(tenant);
            Assert.Equal(name, tenant.Name);
        }

        var port = victim.SiloAddress.Endpoint.Port;
        Assert.Equal(1, await _database.CountAsync(
            $"SELECT count(*) FROM orleans.membership WHERE port = {port} AND status = 6"));
        Assert.Equal(2, await _database.CountAsync("SELECT count(*) FROM orleans.membership WHERE status = 3"));
    }
}
