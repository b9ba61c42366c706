using System.Globalization;
using Alto.GrainInterfaces.Hosts;
using Alto.TestSupport;
using Orleans.TestingHost;

namespace Alto.Grains.Tests.Planning;

/// <summary>
/// Jobs go out only inside the host's transfer windows, judged on the cluster's clock: a silo of
/// its own whose clock the test moves through a window (closed, open, closed again) instead of
/// reading the wall clock or waiting for an hour to pass.
/// </summary>
public sealed class TransferWindowTests : IAsyncLifetime
{
    private readonly MovableClock _clock = new();
    private TestDatabase _database = null!;
    private TestCluster _cluster = null!;
    private DispatchRig _rig = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync("windows");
        await _database.MigrateAsync();
        _cluster = await AltoTestCluster.StartAsync(_database, 1, clock: _clock);
        _rig = new DispatchRig(_cluster.Client, _database);
    }

    public async Task DisposeAsync()
    {
        await _rig.CloseSessionsAsync();
        await _cluster.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task JobsWaitForTheWindowGoWhenItOpensAndWaitAgainOnceItCloses()
    {
        var (world, credential) = await _rig.PlannedHostAsync(paths: ["/srv/a.bin", "/srv/b.bin"]);
        // A one-hour window every day, starting at the second full hour from now on the cluster's clock.
        var opens = Hour(_clock.GetUtcNow()).AddHours(2);
        var window = new TransferWindow("daily", opens.ToString("HH:mm", CultureInfo.InvariantCulture), opens.AddHours(1).ToString("HH:mm", CultureInfo.InvariantCulture), null);
        Assert.True((await world.Host.SetTransferWindowsAsync([window], "UTC")).Succeeded);
        var session = await _rig.ConnectAsync(world, credential);

        // Closed: asked to dispatch, the host sends nothing.
        Assert.Equal(0, await world.Host.DispatchAsync());
        Assert.Empty(session.Jobs);

        // Inside the window: the waiting job goes.
        _clock.Advance(opens - _clock.GetUtcNow() + TimeSpan.FromMinutes(1));
        Assert.Equal(1, await world.Host.DispatchAsync());
        Assert.Single(await DispatchRig.WaitForJobsAsync(session, 1));
        Assert.Equal(0, await world.CountAsync("state = 'PLANNED'"));

        // Past the window: a new plan's job waits again.
        _clock.Advance(TimeSpan.FromHours(1));
        await world.AddFilesAsync([new InventoryFile("/srv/c.bin", 12, 90 * PlanningWorld.Day, 90 * PlanningWorld.Day)]);
        Assert.True((await world.Inventory.PlanAsync(dryRun: false)).Succeeded);
        Assert.Equal(1, await world.CountAsync("state = 'PLANNED'"));
        Assert.Equal(0, await world.Host.DispatchAsync());
        Assert.Single(session.Jobs);
    }

    private static DateTimeOffset Hour(DateTimeOffset instant) => new(instant.Year, instant.Month, instant.Day, instant.Hour, 0, 0, TimeSpan.Zero);
}
