using System.Collections.Concurrent;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tiers;

namespace Alto.Grains.Tests.Planning;

/// <summary>
/// Dispatch through a session observer held by the test (the gateway's part): a job goes out when
/// the agent connects, with its target's secrets; unfinished, it is sent again when its lease
/// (two seconds in this cluster) runs out; and a new session after the old one ended gets it.
/// </summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class DispatchTests(PostgresClusterFixture fixture) : IAsyncLifetime
{
    private readonly List<(IHostGrain Host, Guid SessionId, IAgentSessionObserver Observer)> _sessions = [];

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>
    /// Sessions are closed and their observers released: a grain must not keep re-sending jobs to
    /// this client's observers until the shared cluster shuts down (a late message to a disposed
    /// client takes the test host down).
    /// </summary>
    public async Task DisposeAsync()
    {
        foreach (var (host, sessionId, observer) in _sessions)
        {
            await host.CloseSessionAsync(sessionId);
            fixture.Client.DeleteObjectReference<IAgentSessionObserver>(observer);
        }
    }

    private sealed class RecordingSession : IAgentSessionObserver
    {
        public ConcurrentQueue<TierJobPayload> Jobs { get; } = new();

        public Task DeliverAsync(AgentCommand command) => Task.CompletedTask;

        public Task DeliverJobAsync(TierJobPayload job)
        {
            Jobs.Enqueue(job);
            return Task.CompletedTask;
        }

        public Task ConfigureAsync(string[] volumes, long bandwidthLimitBytesPerSecond, LucidLinkVolume? lucidLink) => Task.CompletedTask;

        public Task EndAsync(SessionStanding standing, string reason) => Task.CompletedTask;
    }

    private async Task<(PlanningWorld World, string Credential)> PlannedHostAsync()
    {
        var world = await PlanningWorld.CreateAsync(fixture);
        var token = (await world.Host.RenewEnrollmentTokenAsync(TimeSpan.FromHours(1))).Value!.EnrollmentToken;
        var credential = (await world.Host.EnrollAsync(new EnrollHost(token, "1.0", "fs"))).Value!.Credential;
        await world.AddRuleAsync("all", RuleCriteria.None with { MinSizeBytes = 0 });
        await world.AddFilesAsync([.. Enumerable.Range(0, 3).Select(i => new InventoryFile($"/srv/f{i}.bin", 10 + i, 90 * PlanningWorld.Day, 90 * PlanningWorld.Day))]);
        Assert.True((await world.Host.PlanAsync(dryRun: false)).Succeeded);
        return (world, credential);
    }

    private async Task<RecordingSession> ConnectAsync(PlanningWorld world, string credential)
    {
        var session = new RecordingSession();
        var observer = fixture.Client.CreateObjectReference<IAgentSessionObserver>(session);
        var sessionId = Guid.NewGuid();
        _sessions.Add((world.Host, sessionId, observer));
        var standing = await world.Host.OpenSessionAsync(
            new AgentSession(sessionId, "test-gateway", "1.0", "linux", [], DateTimeOffset.UtcNow), credential, TimeSpan.FromMinutes(5), observer);
        Assert.Equal(SessionStanding.Current, standing);
        return session;
    }

    private static async Task<TierJobPayload[]> WaitForJobsAsync(RecordingSession session, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (session.Jobs.Count < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{session.Jobs.Count} of {count} deliveries arrived");
            await Task.Delay(50);
        }
        return [.. session.Jobs];
    }

    [Fact]
    public async Task AJobGoesOutWhenTheAgentConnectsAndAgainWhenItsLeaseRunsOut()
    {
        var (world, credential) = await PlannedHostAsync();

        var session = await ConnectAsync(world, credential);
        var first = (await WaitForJobsAsync(session, 1))[0];

        Assert.Equal(3, first.Files.Length);
        Assert.Equal((world.TargetId, "/mnt/archive"), (first.Target.Id, first.Target.Settings.Path));
        Assert.Equal(3, await world.CountAsync("state = 'DISPATCHED'"));
        Assert.Equal(3, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.dispatched'"));

        // No results: after the lease the same job, with the same files, goes out again.
        var again = (await WaitForJobsAsync(session, 2))[1];
        Assert.Equal(first.JobId, again.JobId);
        Assert.Equal(first.Files.Select(f => f.TierObjectId).Order(), again.Files.Select(f => f.TierObjectId).Order());
        Assert.Equal(3, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.dispatched'"));
    }

    [Fact]
    public async Task ANewSessionGetsTheJobsTheOldOneLeftUnfinished()
    {
        var (world, credential) = await PlannedHostAsync();
        var first = await ConnectAsync(world, credential);
        var sent = (await WaitForJobsAsync(first, 1))[0];

        var second = await ConnectAsync(world, credential);

        var resent = (await WaitForJobsAsync(second, 1))[0];
        Assert.Equal(sent.JobId, resent.JobId);
        await world.Host.RecordJobResultsAsync(Guid.NewGuid(), resent.JobId,
            [.. resent.Files.Select(f => new TierFileResult(f.TierObjectId, TierFileOutcome.Skipped, null, null, "in use"))], finished: true);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE id = '{sent.JobId}' AND status = 'completed'"));
    }

    [Fact]
    public async Task OutsideTheHostsTransferWindowsJobsWait()
    {
        var (world, credential) = await PlannedHostAsync();
        var now = DateTimeOffset.UtcNow;
        // A one-hour window that ended an hour ago (every day), so nothing may go now.
        var closed = new TransferWindow("daily", now.AddHours(-2).ToString("HH:00", System.Globalization.CultureInfo.InvariantCulture),
            now.AddHours(-1).ToString("HH:00", System.Globalization.CultureInfo.InvariantCulture), null);
        Assert.True((await world.Host.SetTransferWindowsAsync([closed], "UTC")).Succeeded);

        var session = await ConnectAsync(world, credential);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Empty(session.Jobs);
        Assert.Equal(3, await world.CountAsync("state = 'PLANNED'"));

        Assert.True((await world.Host.SetTransferWindowsAsync([], "UTC")).Succeeded);
        Assert.Single(await WaitForJobsAsync(session, 1));
    }
}
