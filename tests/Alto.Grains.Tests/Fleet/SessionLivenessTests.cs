using Alto.GrainInterfaces.Hosts;
using Alto.Grains.Tests.Planning;
using Alto.TestSupport;
using Npgsql;

namespace Alto.Grains.Tests.Fleet;

/// <summary>
/// A session's liveness counts the agent's silence, not the cluster's: heartbeats that waited
/// behind a slow opening (two hundred agents connecting at once to a busy database) must not end
/// the session they belong to, while an agent that stays silent still goes offline.
/// </summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class SessionLivenessTests(PostgresClusterFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(2);
    private readonly DispatchRig _rig = new(fixture.Client, fixture.Database);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _rig.CloseSessionsAsync();

    [Fact]
    public async Task AnOpeningSlowerThanTheTimeoutDoesNotEndTheSessionBeforeItsFirstHeartbeat()
    {
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database);
        var credential = await DispatchRig.EnrollAsync(world);

        // The host's row is held by another transaction, so opening the session waits on the database past the timeout.
        await using var blocker = new NpgsqlConnection(fixture.Database.ConnectionString);
        await blocker.OpenAsync();
        await using var hold = await blocker.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM alto.host WHERE id = $1 FOR UPDATE", blocker, hold))
        {
            lockRow.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = world.HostId });
            await lockRow.ExecuteScalarAsync();
        }
        var sessionId = Guid.NewGuid();
        var opening = Open(world, sessionId, credential);
        await Task.Delay(HeartbeatTimeout * 1.5);
        Assert.False(opening.IsCompleted, "the held row did not hold the opening up");
        await hold.CommitAsync();

        Assert.Equal(SessionStanding.Current, await opening);
        // The agent's first heartbeat comes the moment the opening is done: the session is still its own.
        Assert.Equal(SessionStanding.Current, await world.Host.HeartbeatAsync(sessionId, credential, PlanningWorld.ArmedMetrics()));
        Assert.Equal(HostStatus.Online, (await world.Host.GetAsync())!.Status);
    }

    [Fact]
    public async Task ASessionWhoseAgentFallsSilentGoesOfflineWithinTheTimeout()
    {
        var world = await PlanningWorld.CreateAsync(fixture.Client, fixture.Database);
        var credential = await DispatchRig.EnrollAsync(world);
        var sessionId = Guid.NewGuid();
        Assert.Equal(SessionStanding.Current, await Open(world, sessionId, credential));

        var deadline = DateTime.UtcNow + HeartbeatTimeout * 5;
        while ((await world.Host.GetAsync())!.Status != HostStatus.Offline)
        {
            Assert.True(DateTime.UtcNow < deadline, "a silent agent's host stayed online");
            await Task.Delay(100);
        }
        Assert.Equal(SessionStanding.Unknown, await world.Host.HeartbeatAsync(sessionId, credential, PlanningWorld.ArmedMetrics()));
    }

    private Task<SessionStanding> Open(PlanningWorld world, Guid sessionId, string credential) =>
        _rig.OpenAsync(world, credential, sessionId, HeartbeatTimeout, new RecordingSession());
}
