using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tenants;
using Alto.TestSupport;

namespace Alto.Grains.Tests;

/// <summary>A host's settings changed in one call: every part checked before any is made, written together, and only at the revision the caller read.</summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class HostSettingsTests(PostgresClusterFixture fixture)
{
    private async Task<IHostGrain> RegisteredHostAsync(Guid? tenant = null, string name = "fs01")
    {
        var tenantId = tenant ?? Guid.NewGuid();
        if (tenant is null)
        {
            var created = await fixture.Client.GetGrain<ITenantGrain>(tenantId.ToString()).CreateAsync(new CreateTenant($"settings-{tenantId:N}", ""));
            Assert.True(created.Succeeded, created.Error?.Message);
        }
        var host = fixture.Client.GetGrain<IHostGrain>(Guid.NewGuid().ToString());
        var registered = await host.RegisterAsync(new RegisterHost(tenantId, name, HostOs.Linux, ["/srv/data"], TimeSpan.FromHours(1)));
        Assert.True(registered.Succeeded, registered.Error?.Message);
        return host;
    }

    /// <summary>
    /// A host is renamed only to a name no other host of its tenant has (the row's unique index
    /// decides, before the state is written), and a rename whose state write fails leaves the row
    /// with the old name, so the new one stays free.
    /// </summary>
    [Fact]
    public async Task AHostIsRenamedOnlyToAFreeNameAndAFailedWriteLeavesItsRowAsItWas()
    {
        var first = await RegisteredHostAsync();
        var tenantId = (await first.GetAsync())!.TenantId;
        var second = await RegisteredHostAsync(tenantId, "fs02");
        var id = first.GetPrimaryKeyString();
        Task<string> RowNameAsync() => fixture.Database.ScalarAsync<string>($"SELECT name FROM alto.host WHERE id = '{id}'");

        var taken = await first.UpdateSettingsAsync(new HostSettingsChange(null, 1_000, null, null, false, null, Name: "FS02"));
        Assert.Equal(CommandErrorKind.Conflict, taken.Error?.Kind);
        Assert.Equal(("fs01", null), ((await first.GetAsync())!.Name, (await first.GetAsync())!.BandwidthLimitBytesPerSecond));
        Assert.Equal("fs01", await RowNameAsync());

        await using (await InsertRefusal.StartAsync(fixture.Database, "orleans.grain_state",
            "position(convert_to('fs-unwritable', 'UTF8') in NEW.payload_binary) > 0", writes: "INSERT OR UPDATE"))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => first.UpdateSettingsAsync(new HostSettingsChange(null, null, null, null, false, null, Name: "fs-unwritable")));
        }
        Assert.Equal(("fs01", "fs01"), ((await first.GetAsync())!.Name, await RowNameAsync()));
        var free = await second.UpdateSettingsAsync(new HostSettingsChange(null, null, null, null, false, null, Name: "fs-unwritable"));
        Assert.True(free.Succeeded, free.Error?.Message);

        var renamed = await first.UpdateSettingsAsync(new HostSettingsChange(null, null, null, null, false, null, Name: "fs02"));
        Assert.True(renamed.Succeeded, renamed.Error?.Message);
        Assert.Equal("fs02", await RowNameAsync());
        await fixture.Cluster.DeactivateAsync(first);
        Assert.Equal("fs02", (await first.GetAsync())!.Name);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'host.renamed' AND object_id = '{id}'"));
    }

    [Fact]
    public async Task AChangeWithABadPartMakesNoneOfItsParts()
    {
        var host = await RegisteredHostAsync();
        var before = (await host.GetAsync())!;

        var badZone = await host.UpdateSettingsAsync(new HostSettingsChange(["/srv/other"], 1_000, null, "Mars/Olympus_Mons", false, null));
        Assert.Equal((CommandErrorKind.Invalid, "timeZone"), (badZone.Error?.Kind, badZone.Error?.Field));
        TransferWindow[] windows = [new("daily", "22:00", "06:00", null), new("mon-fri", "25:00", "06:00", null)];
        var badWindow = await host.UpdateSettingsAsync(new HostSettingsChange(["/srv/other"], 1_000, windows, null, true, null));
        Assert.Equal((CommandErrorKind.Invalid, "transferWindows[1]"), (badWindow.Error?.Kind, badWindow.Error?.Field));
        var negative = await host.UpdateSettingsAsync(new HostSettingsChange(["/srv/other"], -1, null, null, false, null));
        Assert.Equal((CommandErrorKind.Invalid, "bandwidthLimitBytesPerSecond"), (negative.Error?.Kind, negative.Error?.Field));

        var after = (await host.GetAsync())!;
        Assert.Equal(before.Volumes, after.Volumes);
        Assert.Empty(after.TransferWindows);
        Assert.Equal(Revision.Of(HostSettings.Of(before)), Revision.Of(HostSettings.Of(after)));
    }

    [Fact]
    public async Task AChangeAtAnOldRevisionIsRefusedAndOneAtTheCurrentMakesEveryPart()
    {
        var host = await RegisteredHostAsync();
        var read = Revision.Of(HostSettings.Of((await host.GetAsync())!));
        var first = await host.UpdateSettingsAsync(new HostSettingsChange(null, 5_000, null, null, false, null), [read]);
        Assert.True(first.Succeeded, first.Error?.Message);

        var stale = await host.UpdateSettingsAsync(new HostSettingsChange(["/srv/else"], 0, null, null, false, null), [read]);
        Assert.Equal(CommandErrorKind.Stale, stale.Error?.Kind);
        Assert.Equal((5_000L, "/srv/data"), ((await host.GetAsync())!.BandwidthLimitBytesPerSecond, (await host.GetAsync())!.Volumes.Single()));

        var current = Revision.Of(HostSettings.Of(first.Value!));
        var lucidLink = new LucidLinkVolume("/mnt/filespace", 30);
        var made = await host.UpdateSettingsAsync(new HostSettingsChange(["/srv/else"], 0, [new("sat,sun", "00:00", "23:00", null)], "Europe/Paris", true, lucidLink), ["other", current]);
        Assert.True(made.Succeeded, made.Error?.Message);
        var after = (await host.GetAsync())!;
        Assert.Equal((null, "/srv/else", "sat,sun", "Europe/Paris", "/mnt/filespace"),
            (after.BandwidthLimitBytesPerSecond, after.Volumes.Single(), after.TransferWindows.Single().Days, after.TimeZone, after.LucidLink?.FilespaceRoot));
        Assert.NotEqual(current, Revision.Of(HostSettings.Of(after)));
    }

    [Fact]
    public async Task AChangeWhoseStateWriteFailsLeavesEveryPartAsItWas()
    {
        var host = await RegisteredHostAsync();
        var before = Revision.Of(HostSettings.Of((await host.GetAsync())!));

        // The database refuses the one write that would hold the new volume, as a lost lock would.
        await using (await InsertRefusal.StartAsync(fixture.Database, "orleans.grain_state",
            "position(convert_to('/srv/unwritable', 'UTF8') in NEW.payload_binary) > 0", writes: "INSERT OR UPDATE"))
        {
            await Assert.ThrowsAnyAsync<Exception>(() =>
                host.UpdateSettingsAsync(new HostSettingsChange(["/srv/unwritable"], 5_000, null, "Europe/Paris", false, null)));
        }

        var after = (await host.GetAsync())!;
        Assert.Equal((null, "UTC", "/srv/data"), (after.BandwidthLimitBytesPerSecond, after.TimeZone, after.Volumes.Single()));
        Assert.Equal(before, Revision.Of(HostSettings.Of(after)));
        await fixture.Cluster.DeactivateAsync(host);
        Assert.Equal(before, Revision.Of(HostSettings.Of((await host.GetAsync())!)));
    }
}
