using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tenants;

namespace Alto.Grains.Tests;

[Collection(PostgresClusterCollection.Name)]
public sealed class ClusterTests(PostgresClusterFixture fixture)
{
    [Fact]
    public async Task AllSilosJoinThroughThePostgresMembershipTable()
    {
        var active = await fixture.Database.CountAsync("SELECT count(*) FROM orleans.membership WHERE status = 3");
        Assert.True(active >= PostgresClusterFixture.SiloCount, $"{active} active silo rows");
    }

    [Fact]
    public async Task TenantAndHostStateSurviveDeactivation()
    {
        var tenantId = Guid.NewGuid();
        var tenant = fixture.Client.GetGrain<ITenantGrain>(tenantId.ToString());
        var created = await tenant.CreateAsync(new CreateTenant($"survivor-{tenantId:N}", "kept across activations"));
        Assert.True(created.Succeeded, created.Error?.Message);
        var target = await tenant.AddTargetAsync(new CreateStorageTarget(
            Guid.NewGuid(), "archive", StorageTargetKind.Path,
            new StorageTargetSettings("/mnt/tier2", null, null, null, null, null, null, false), null));
        Assert.True(target.Succeeded, target.Error?.Message);

        var hostId = Guid.NewGuid();
        var host = fixture.Client.GetGrain<IHostGrain>(hostId.ToString());
        var registered = await host.RegisterAsync(new RegisterHost(tenantId, "fs01", HostOs.Linux, ["/srv/data"], TimeSpan.FromHours(1)));
        Assert.True(registered.Succeeded, registered.Error?.Message);

        await fixture.Cluster.DeactivateAsync(tenant);
        await fixture.Cluster.DeactivateAsync(host);

        var tenantAfter = await tenant.GetAsync();
        Assert.NotNull(tenantAfter);
        Assert.Equal(created.Value!.Name, tenantAfter.Name);
        Assert.Equal("kept across activations", tenantAfter.Description);
        var targetAfter = await tenant.GetTargetAsync(target.Value!.Id);
        Assert.Equal("/mnt/tier2", targetAfter?.Settings.Path);

        var hostAfter = await host.GetAsync();
        Assert.NotNull(hostAfter);
        Assert.Equal(("fs01", tenantId, HostStatus.Registered), (hostAfter.Name, hostAfter.TenantId, hostAfter.Status));
        Assert.Equal(["/srv/data"], hostAfter.Volumes);
    }

    [Fact]
    public async Task GrainsWriteTheirReadModelRows()
    {
        var tenantId = Guid.NewGuid();
        var tenant = fixture.Client.GetGrain<ITenantGrain>(tenantId.ToString());
        await tenant.CreateAsync(new CreateTenant($"rows-{tenantId:N}", ""));
        await tenant.SetStatusAsync(TenantStatus.Disabled);

        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.tenant WHERE id = '{tenantId}' AND status = 'disabled'"));
    }

    [Fact]
    public async Task TenantNamesAreUniqueAcrossGrains()
    {
        var name = $"unique-{Guid.NewGuid():N}";
        var first = await fixture.Client.GetGrain<ITenantGrain>(Guid.NewGuid().ToString()).CreateAsync(new CreateTenant(name, ""));
        var secondId = Guid.NewGuid();
        var second = await fixture.Client.GetGrain<ITenantGrain>(secondId.ToString()).CreateAsync(new CreateTenant(name.ToUpperInvariant(), ""));

        Assert.True(first.Succeeded);
        Assert.Equal(GrainInterfaces.Common.CommandErrorKind.Conflict, second.Error?.Kind);
        Assert.Null(await fixture.Client.GetGrain<ITenantGrain>(secondId.ToString()).GetAsync());
    }

    [Fact]
    public async Task HostsCannotJoinAMissingOrDisabledTenant()
    {
        var missing = await fixture.Client.GetGrain<IHostGrain>(Guid.NewGuid().ToString())
            .RegisterAsync(new RegisterHost(Guid.NewGuid(), "orphan", HostOs.Linux, [], TimeSpan.FromHours(1)));
        Assert.Equal(GrainInterfaces.Common.CommandErrorKind.NotFound, missing.Error?.Kind);

        var tenantId = Guid.NewGuid();
        var tenant = fixture.Client.GetGrain<ITenantGrain>(tenantId.ToString());
        await tenant.CreateAsync(new CreateTenant($"off-{tenantId:N}", ""));
        await tenant.SetStatusAsync(TenantStatus.Disabled);
        var disabled = await fixture.Client.GetGrain<IHostGrain>(Guid.NewGuid().ToString())
            .RegisterAsync(new RegisterHost(tenantId, "late", HostOs.Linux, [], TimeSpan.FromHours(1)));
        Assert.Equal(GrainInterfaces.Common.CommandErrorKind.Conflict, disabled.Error?.Kind);
    }
}
