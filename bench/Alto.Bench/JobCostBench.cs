using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Alto.Agent.Jobs;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tiers;
using Alto.TestSupport;

namespace Alto.Bench;

/// <summary>
/// bench/run.sh job-cost: what a tiering job costs the cluster. One in-process silo on a fresh
/// database, a host with 10,000 cold files planned into 10 jobs of 1,000, and a stand-in agent
/// (a session observer held here, as the gateway holds it) that answers every job the way the
/// real agent does — results for all its files, 500 to a report, the last one saying it is
/// finished. Counted from plan to the last completed job: database transactions
/// (pg_stat_database; as counted, an upper bound, and net of the cluster's idle background rate
/// measured in the same run) and grain calls (the alto.grain.calls counter, by interface).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class JobCostBench
{
    private const int Jobs = 10;
    private const int FilesPerJob = 1000;
    // Backends report their statistics when idle at most every ten seconds (PGSTAT_IDLE_INTERVAL).
    private static readonly TimeSpan StatisticsSettle = TimeSpan.FromSeconds(11);

    public static async Task<Dictionary<string, object>> RunAsync()
    {
        await using var database = await TestDatabase.CreateAsync("jobcost");
        await database.MigrateAsync();
        var cluster = await AltoTestCluster.StartAsync(database, 1, settings: new Dictionary<string, string?> { ["Alto:Dispatch:Lease"] = "00:10:00" }, fileLogs: false);
        try
        {
            return await MeasureAsync(cluster.Client, database);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    private static async Task<Dictionary<string, object>> MeasureAsync(IClusterClient client, TestDatabase database)
    {
        var world = await PlanningWorld.CreateAsync(client, database);
        await world.AddRuleAsync("cold", RuleCriteria.None with { MinSizeBytes = 0 });
        await world.AddFilesAsync([.. Enumerable.Range(0, Jobs * FilesPerJob)
            .Select(i => new InventoryFile($"/srv/d{i / 100}/f{i}.bin", 64 * 1024, 400 * PlanningWorld.Day, 400 * PlanningWorld.Day))]);

        using var calls = new GrainCallCount();
        // The idle cluster's own transactions (membership, reminders), to subtract.
        var idleStart = await TransactionsAsync(database);
        var idleClock = Stopwatch.StartNew();
        await Task.Delay(2 * StatisticsSettle);
        var idleRate = (await TransactionsAsync(database) - idleStart) / idleClock.Elapsed.TotalSeconds;

        // Planning: the whole inventory evaluated, 10,000 tier objects and 10 jobs written.
        var (plan, planTransactions, planRaw, planCalls) = await CountedAsync(database, calls, idleRate, async () =>
        {
            var summary = await world.Inventory.PlanAsync(dryRun: false);
            if (summary.Value?.Changes?.JobsCreated != Jobs)
            {
                throw new InvalidOperationException($"the plan made {summary.Value?.Changes?.JobsCreated} jobs, not {Jobs}: {summary.Error?.Message}");
            }
        });
        // Tiering: the agent connects, every job is sent, answered in reports and closed.
        var (tiering, tierTransactions, tierRaw, tierCalls) = await CountedAsync(database, calls, idleRate, async () =>
        {
            // Held here until the jobs are done: a client holds its observers weakly.
            var agent = await StandInAgent.ConnectAsync(client, world);
            await StandInAgent.WaitForCompletedJobsAsync(database, world.HostId, Jobs, TimeSpan.FromMinutes(10));
            GC.KeepAlive(agent);
        });
        var stubbed = await database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{world.HostId}' AND state = 'STUBBED'");
        return new Dictionary<string, object>
        {
            ["bench"] = "job-cost",
            ["jobs"] = Jobs,
            ["files_per_job"] = FilesPerJob,
            ["files_stubbed"] = stubbed,
            ["plan_seconds"] = Math.Round(plan.TotalSeconds, 2),
            ["tier_seconds"] = Math.Round(tiering.TotalSeconds, 2),
            ["background_transactions_per_s"] = Math.Round(idleRate, 1),
            ["plan_transactions_counted"] = planRaw,
            ["tier_transactions_counted"] = tierRaw,
            // Counted includes whatever the cluster did meanwhile on its own: an upper bound of the jobs' cost.
            ["transactions_per_job"] = Math.Round((planRaw + tierRaw) / (double)Jobs, 1),
            ["transactions_per_job_net_of_background"] = Math.Round((planTransactions + tierTransactions) / Jobs, 1),
            ["grain_calls_per_job"] = Math.Round((planCalls.Values.Sum() + tierCalls.Values.Sum()) / (double)Jobs, 1),
            ["grain_calls_plan"] = planCalls,
            ["grain_calls_tiering"] = tierCalls,
            ["baseline"] = "the idle cluster's transactions per second, measured in this run (subtracted in the net figure)",
            ["goal"] = "transactions_per_job <= 20",
        };
    }

    /// <summary>Runs one stage; its time, its database transactions net of the background, and the grain calls it made.</summary>
    private static async Task<(TimeSpan Elapsed, double Transactions, long Raw, Dictionary<string, long> Calls)> CountedAsync(
        TestDatabase database, GrainCallCount calls, double idleRate, Func<Task> stage)
    {
        calls.Reset();
        var before = await TransactionsAsync(database);
        var clock = Stopwatch.StartNew();
        await stage();
        var elapsed = clock.Elapsed;
        var counted = calls.ByInterface();
        await Task.Delay(StatisticsSettle);
        var raw = await TransactionsAsync(database) - before;
        return (elapsed, raw - idleRate * clock.Elapsed.TotalSeconds, raw, counted);
    }

    private static async Task<long> TransactionsAsync(TestDatabase database) =>
        await database.ScalarAsync<long>(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()");

    /// <summary>Listens to alto.grain.calls in this process (the in-process silo's filter counts there).</summary>
    private sealed class GrainCallCount : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _calls = new();

        public GrainCallCount()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == Grains.GrainCallMetrics.InstrumentName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "interface" && tag.Value is string name)
                    {
                        _calls.AddOrUpdate(name, value, (_, sum) => sum + value);
                    }
                }
            });
            _listener.Start();
        }

        /// <summary>Calls to Alto's own grains (the dashboard's and Orleans' system targets are left out).</summary>
        public Dictionary<string, long> ByInterface() =>
            _calls.Where(pair => pair.Key.StartsWith("Alto.", StringComparison.Ordinal)).ToDictionary(pair => pair.Key, pair => pair.Value);

        public void Reset() => _calls.Clear();

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>
    /// A stand-in for the agent and its gateway: it takes jobs from the host grain through a session
    /// observer and reports every file stubbed, as the real agent's reports are shaped.
    /// </summary>
    private sealed class StandInAgent : IAgentSessionObserver
    {
        private readonly Channel<TierJobPayload> _jobs = Channel.CreateUnbounded<TierJobPayload>();

        public static async Task<StandInAgent> ConnectAsync(IClusterClient client, PlanningWorld world)
        {
            var token = (await world.Host.RenewEnrollmentTokenAsync(TimeSpan.FromHours(1))).Value!.EnrollmentToken;
            var credential = (await world.Host.EnrollAsync(new EnrollHost(token, "bench", "stand-in"))).Value!.Credential;
            await world.Host.AuthenticateAsync(credential);
            var agent = new StandInAgent();
            var observer = client.CreateObjectReference<IAgentSessionObserver>(agent);
            var sessionId = Guid.NewGuid();
            await world.Host.OpenSessionAsync(new AgentSession(sessionId, "bench", "bench", "linux", [], DateTimeOffset.UtcNow),
                credential, TimeSpan.FromMinutes(5), observer);
            await world.Host.HeartbeatAsync(sessionId, credential, PlanningWorld.ArmedMetrics());
            _ = Task.Run(async () =>
            {
                try
                {
                    await agent.AnswerJobsAsync(world.Host);
                }
                catch (Exception exception)
                {
                    await Console.Error.WriteLineAsync("the stand-in agent stopped: " + exception);
                    throw;
                }
            });
            return agent;
        }

        public Task DeliverJobAsync(TierJobPayload job) => _jobs.Writer.WriteAsync(job).AsTask();

        public Task DeliverAsync(AgentCommand command) => Task.CompletedTask;

        public Task CancelJobAsync(Guid jobId) => Task.CompletedTask;

        public Task ConfigureAsync(string[] volumes, long bandwidthLimitBytesPerSecond, LucidLinkVolume? lucidLink) => Task.CompletedTask;

        public Task EndAsync(SessionStanding standing, string reason) => Task.CompletedTask;

        private async Task AnswerJobsAsync(IHostGrain host)
        {
            var answered = new HashSet<Guid>();
            await foreach (var job in _jobs.Reader.ReadAllAsync())
            {
                if (!answered.Add(job.JobId))
                {
                    continue;
                }
                var reports = job.Files.Chunk(AgentJobRunner.ResultsPerMessage).ToArray();
                for (var i = 0; i < reports.Length; i++)
                {
                    var results = reports[i].Select(file => new TierFileResult(
                        file.TierObjectId, TierFileOutcome.Stubbed, new string('a', 64), $"objects/{file.TierObjectId}", null)).ToArray();
                    var refusal = await host.RecordJobResultsAsync(Guid.NewGuid().ToString("N"), job.JobId, results, finished: i == reports.Length - 1);
                    if (refusal is not null)
                    {
                        throw new InvalidOperationException("the host refused a report: " + refusal);
                    }
                }
            }
        }

        public static async Task WaitForCompletedJobsAsync(TestDatabase database, Guid hostId, int jobs, TimeSpan patience)
        {
            var clock = Stopwatch.StartNew();
            while (await database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{hostId}' AND status = 'completed'") < jobs)
            {
                if (clock.Elapsed > patience)
                {
                    throw new TimeoutException($"the jobs were not all completed within {patience}");
                }
                await Task.Delay(100);
            }
        }
    }
}
