using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Tenants;
using Alto.TestSupport;

namespace Alto.Grains.Tests;

/// <summary>A target's deletion is whole or nothing: its row, its place in the tenant's state and its audit entry go together.</summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class TargetDeletionTests(PostgresClusterFixture fixture)
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
}
