using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tenants;
using Alto.TestSupport;

namespace Alto.Grains.Tests;

/// <summary>A deletion is whole or nothing: the row, the grain's state and the audit entry go together.</summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class DeletionTests(PostgresClusterFixture fixture)
{
    [Fact]
    public async Task ATargetWhoseDeletionCannotBeStoredStaysWithItsRowAndIsDeletedAtTheNextTry()
    {
        var tenantId = Guid.NewGuid();
        var tenant = fixture.Client.GetGrain<ITenantGrain>(tenantId.ToString());
        Assert.True((await tenant.CreateAsync(new CreateTenant($"deletion-{tenantId:N}", ""))).Succeeded);
        var added = await tenant.AddTargetAsync(new CreateStorageTarget(Guid.NewGuid(), "mistake", StorageTargetKind.Path,
            new StorageTargetSettings("/mnt/mistake", null, null, null, null, null, null, false), null));
        Assert.True(added.Succeeded, added.Error?.Message);
        var targetId = added.Value!.Id;
        Task<long> RowsAsync() => fixture.Database.CountAsync($"SELECT count(*) FROM alto.storage_target WHERE id = '{targetId}'");
        Task<long> EntriesAsync() => fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'target.deleted' AND object_id = '{targetId}'");

        // The state write holding the deletion's audit entry fails: the row, already deleted, comes back.
        await using (await InsertRefusal.StartAsync(fixture.Database, "orleans.grain_state",
            "position(convert_to('target.deleted', 'UTF8') in NEW.payload_binary) > 0", writes: "INSERT OR UPDATE"))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => tenant.DeleteTargetAsync(targetId));
        }
        Assert.NotNull(await tenant.GetTargetAsync(targetId));
        Assert.Equal((1L, 0L), (await RowsAsync(), await EntriesAsync()));
        await fixture.Cluster.DeactivateAsync(tenant);
        Assert.Equal(Revision.Of(added.Value), Revision.Of(await tenant.GetTargetAsync(targetId)));

        var deleted = await tenant.DeleteTargetAsync(targetId);
        Assert.True(deleted.Succeeded, deleted.Error?.Message);
        Assert.Null(await tenant.GetTargetAsync(targetId));
        Assert.Equal((0L, 1L), (await RowsAsync(), await EntriesAsync()));
        await fixture.Cluster.DeactivateAsync(tenant);
        Assert.Null(await tenant.GetTargetAsync(targetId));
        Assert.Equal(0L, await RowsAsync());
    }

    [Fact]
    public async Task AHostWhoseDeletionCannotBeStoredStaysWithItsRowAndIsDeletedAtTheNextTry()
    {
        var tenantId = Guid.NewGuid();
        Assert.True((await fixture.Client.GetGrain<ITenantGrain>(tenantId.ToString()).CreateAsync(new CreateTenant($"deletion-{tenantId:N}", ""))).Succeeded);
        var hostId = Guid.NewGuid();
        var host = fixture.Client.GetGrain<IHostGrain>(hostId.ToString());
        var registered = await host.RegisterAsync(new RegisterHost(tenantId, "mistake", HostOs.Linux, ["/srv/data"], TimeSpan.FromHours(1)));
        Assert.True(registered.Succeeded, registered.Error?.Message);
        Task<long> RowsAsync() => fixture.Database.CountAsync($"SELECT count(*) FROM alto.host WHERE id = '{hostId}'");
        Task<long> EntriesAsync() => fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'host.deleted' AND object_id = '{hostId}'");

        await using (await InsertRefusal.StartAsync(fixture.Database, "orleans.grain_state",
            "position(convert_to('host.deleted', 'UTF8') in NEW.payload_binary) > 0", writes: "INSERT OR UPDATE"))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => host.DeleteAsync());
        }
        Assert.Equal("mistake", (await host.GetAsync())?.Name);
        Assert.Equal((1L, 0L), (await RowsAsync(), await EntriesAsync()));
        await fixture.Cluster.DeactivateAsync(host);
        Assert.Equal("mistake", (await host.GetAsync())?.Name);

        var deleted = await host.DeleteAsync();
        Assert.True(deleted.Succeeded, deleted.Error?.Message);
        Assert.Null(await host.GetAsync());
        Assert.Equal((0L, 1L), (await RowsAsync(), await EntriesAsync()));
        await fixture.Cluster.DeactivateAsync(host);
        Assert.Null(await host.GetAsync());
        Assert.Equal(0L, await RowsAsync());
    }
}
