using System.Collections.Concurrent;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tiers;
using Alto.TestSupport;
using Orleans.TestingHost;

namespace Alto.Grains.Tests.Planning;

/// <summary>
/// Kills the silo that hosts a host grain while one of its jobs is out with the agent: the
/// grain comes back on another silo from PostgreSQL, the agent reconnects, and every job
/// completes exactly once in effect — each file uploaded once, stubbed once, audited once.
/// Has its own cluster, so the shared one keeps all its silos.
/// </summary>
public sealed class DispatchFailoverTests : IAsyncLifetime
{
    private const int FilesPerJob = 10;
    private static readonly string[] Kinds = ["a", "b", "c"];

    private TestDatabase _database = null!;
    private TestCluster _cluster = null!;
    private AgentStandIn? _agent;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync("dispatch-failover");
        await _database.MigrateAsync();
        _cluster = await PostgresClusterFixture.StartClusterAsync(_database, 3, fastFailureDetection: true);
    }

    public async Task DisposeAsync()
    {
        if (_agent is not null)
        {
            await _agent.CloseAsync();
        }
        await _cluster.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task KillingTheSiloOfTheHostGrainMidJobCompletesEveryJobExactlyOnceInEffect()
    {
        var world = await PlanningWorld.CreateAsync(_cluster.Client, _database);
        var token = (await world.Host.RenewEnrollmentTokenAsync(TimeSpan.FromHours(1))).Value!.EnrollmentToken;
        var credential = (await world.Host.EnrollAsync(new EnrollHost(token, "1.0", "fs"))).Value!.Credential;
        foreach (var kind in Kinds)
        {
            // One rule per extension: three jobs, sent one at a time.
            await world.AddRuleAsync($"kind {kind}", RuleCriteria.None with { Extensions = [kind] });
        }
        await world.AddFilesAsync([.. Kinds.SelectMany(kind => Enumerable.Range(0, FilesPerJob)
            .Select(i => new InventoryFile($"/srv/{kind}/f{i}.{kind}", 100 + i, 90 * PlanningWorld.Day, 90 * PlanningWorld.Day)))]);
        Assert.True((await world.Inventory.PlanAsync(dryRun: false)).Succeeded);
        Assert.Equal(Kinds.Length, (await world.JobsAsync()).Count);

        var agent = _agent = new AgentStandIn(_cluster.Client, world.Host, credential);
        await agent.ConnectAsync();
        var first = await agent.FirstDeliveryAsync.WaitAsync(TimeSpan.FromSeconds(30));

        var victim = await SiloOfAsync(world.Host);
        await _cluster.KillSiloAsync(victim);
        // The first job's results now reach a new activation of the host grain.
        agent.ReleaseFirstJob();

        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (await _database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{world.HostId}' AND status = 'completed'") < Kinds.Length)
        {
            Assert.True(DateTime.UtcNow < deadline,
                $"jobs unfinished after the silo died; deliveries: {agent.Deliveries.Count}, sessions: {agent.Sessions}");
            await agent.HeartbeatAsync();
            await Task.Delay(250);
        }

        Assert.NotEqual(victim.SiloAddress, (await SiloOfAsync(world.Host)).SiloAddress);
        Assert.Contains(first.JobId, agent.Deliveries.Select(job => job.JobId));
        Assert.True(agent.Sessions >= 2, "the agent reconnected to the grain's new activation");
        Assert.Equal(SessionStanding.Unknown, Assert.Single(agent.Standings));
        var files = Kinds.Length * FilesPerJob;
        Assert.Equal(files, agent.Uploads.Count);
        Assert.All(agent.Uploads.Values, uploads => Assert.Equal(1, uploads));
        Assert.Equal(files, await world.CountAsync("state = 'STUBBED'"));
        Assert.Equal(files, await _database.CountAsync(
            $"SELECT count(DISTINCT object_id) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.stubbed'"));
        Assert.Equal(files, await _database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.stubbed'"));
    }

    private async Task<SiloHandle> SiloOfAsync(IHostGrain host)
    {
        var grainId = host.GetGrainId();
        var statistics = await _cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        var address = statistics.Single(statistic => statistic.GrainId == grainId).SiloAddress;
        return _cluster.Silos.Single(silo => silo.SiloAddress.Equals(address));
    }

    /// <summary>
    /// Stands in for the gateway and the agent behind it (both real elsewhere): takes jobs from
    /// the session, "tiers" each file once (a repeat of a stubbed file is reported stubbed again
    /// without a new upload, as the real agent does), reports the results, heartbeats, and opens a
    /// new session when the grain no longer knows the old one. The first job's results are held
    /// until the test releases them.
    /// </summary>
    private sealed class AgentStandIn(IClusterClient client, IHostGrain host, string credential) : IAgentSessionObserver
    {
        private readonly TaskCompletionSource<TierJobPayload> _firstDelivery = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentDictionary<long, string> _stubbed = new();
        private Guid _sessionId;
        private IAgentSessionObserver? _reference;

        public ConcurrentQueue<TierJobPayload> Deliveries { get; } = new();

        public ConcurrentDictionary<long, int> Uploads { get; } = new();

        public int Sessions { get; private set; }

        /// <summary>What the heartbeats that ended a session were told.</summary>
        public ConcurrentQueue<SessionStanding> Standings { get; } = new();

        public Task<TierJobPayload> FirstDeliveryAsync => _firstDelivery.Task;

        public void ReleaseFirstJob() => _release.TrySetResult();

        public async Task ConnectAsync()
        {
            _sessionId = Guid.NewGuid();
            _reference ??= client.CreateObjectReference<IAgentSessionObserver>(this);
            Sessions++;
            var standing = await host.OpenSessionAsync(
                new AgentSession(_sessionId, "stand-in-gateway", "1.0", "linux", [], DateTimeOffset.UtcNow), credential, TimeSpan.FromMinutes(5), _reference);
            Assert.Equal(SessionStanding.Current, standing);
            Assert.Equal(SessionStanding.Current, await host.HeartbeatAsync(_sessionId, credential, PlanningWorld.ArmedMetrics()));
        }

        /// <summary>Ends the session and releases the observer before the cluster goes (see DispatchTests.DisposeAsync).</summary>
        public async Task CloseAsync()
        {
            await host.CloseSessionAsync(_sessionId);
            if (_reference is not null)
            {
                client.DeleteObjectReference<IAgentSessionObserver>(_reference);
            }
        }

        public async Task HeartbeatAsync()
        {
            SessionStanding standing;
            try
            {
                standing = await host.HeartbeatAsync(_sessionId, credential, PlanningWorld.ArmedMetrics());
            }
            catch (Exception exception) when (exception is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException)
            {
                // The cluster has not yet declared the killed silo dead; the gateway would try again.
                return;
            }
            if (standing != SessionStanding.Current)
            {
                Standings.Enqueue(standing);
                await ConnectAsync();
            }
        }

        public Task DeliverAsync(AgentCommand command) => Task.CompletedTask;

        public Task DeliverJobAsync(TierJobPayload job)
        {
            Deliveries.Enqueue(job);
            var isFirst = _firstDelivery.TrySetResult(job);
            _ = RunAsync(job, isFirst);
            return Task.CompletedTask;
        }

        private async Task RunAsync(TierJobPayload job, bool holdResults)
        {
            var results = job.Files.Select(file =>
            {
                var locator = _stubbed.GetOrAdd(file.TierObjectId, id =>
                {
                    Uploads.AddOrUpdate(id, 1, (_, uploads) => uploads + 1);
                    return $"objects/{id}";
                });
                return new TierFileResult(file.TierObjectId, TierFileOutcome.Stubbed, $"{file.TierObjectId:x64}", locator, null);
            }).ToArray();
            if (holdResults)
            {
                await _release.Task;
            }
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await host.RecordJobResultsAsync(Guid.NewGuid().ToString("N"), job.JobId, results, finished: true);
                    return;
                }
                catch (Exception exception) when (attempt < 60 && exception is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException)
                {
                    await Task.Delay(500);
                }
            }
        }

        public Task CancelJobAsync(Guid jobId) => Task.CompletedTask;

        public Task ConfigureAsync(string[] volumes, long bandwidthLimitBytesPerSecond, LucidLinkVolume? lucidLink) => Task.CompletedTask;

        public Task EndAsync(SessionStanding standing, string reason) => Task.CompletedTask;
    }
}
