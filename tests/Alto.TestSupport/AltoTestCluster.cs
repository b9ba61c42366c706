using Alto.Silo.Extensions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Alto.TestSupport;

/// <summary>
/// In-process Alto silos on a migrated PostgreSQL database, using Alto's real ADO.NET clustering,
/// grain storage and reminders (not the test cluster's in-memory membership); for the grain tests
/// and the benchmarks that drive grains directly.
/// </summary>
public static class AltoTestCluster
{
    /// <summary>
    /// Deploys <paramref name="silos"/> Alto silos and a client on <paramref name="database"/>;
    /// with <paramref name="fastFailureDetection"/>, a killed silo is declared dead within seconds
    /// rather than the default half minute. The silos' file logs go to <c>logs/</c> below the working
    /// folder (a test's bin folder); a benchmark, run from the repository, passes
    /// <paramref name="fileLogs"/> false so nothing is written there. With <paramref name="clock"/>,
    /// the silos' grains read the time from it, so a test moves time instead of waiting for it.
    /// </summary>
    public static async Task<TestCluster> StartAsync(
        TestDatabase database, short silos, bool fastFailureDetection = false, IReadOnlyDictionary<string, string?>? settings = null,
        bool fileLogs = true, MovableClock? clock = null)
    {
        var builder = new TestClusterBuilder(silos);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ConfigureFileLogging = fileLogs;
        builder.ConfigureHostConfiguration(configuration => configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [ConnectionStringKey] = database.ConnectionString,
            ["Alto:Keys:MasterKeyFile"] = database.MasterKeyFile,
            // Short leases, so re-sending a job that was not finished can be seen within a test.
            ["Alto:Dispatch:Lease"] = "00:00:02",
            // A failed file is tried again 3 s, then 6 s later: retries and abandonment within a test.
            ["Alto:Tiering:Retry:Base"] = "00:00:03",
        }).AddInMemoryCollection(settings ?? new Dictionary<string, string?>()));
        builder.AddSiloBuilderConfigurator<AltoSiloConfigurator>();
        if (fastFailureDetection)
        {
            builder.AddSiloBuilderConfigurator<FastFailureDetectionConfigurator>();
        }
        if (clock is not null)
        {
            // Silo configurators are made by type, so the clock is found again by a key in the configuration.
            var key = Guid.NewGuid().ToString("N");
            Clocks[key] = clock;
            builder.ConfigureHostConfiguration(configuration => configuration.AddInMemoryCollection(new Dictionary<string, string?> { [ClockKey] = key }));
            builder.AddSiloBuilderConfigurator<ClockConfigurator>();
        }
        builder.AddClientBuilderConfigurator<AdoNetClientConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private const string ConnectionStringKey = "Alto:Database:ConnectionString";
    private const string ClockKey = "Alto:Test:Clock";
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, MovableClock> Clocks = new();

    private sealed class AltoSiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddAltoSiloCore();
    }

    private sealed class ClockConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) =>
            siloBuilder.Services.AddSingleton<TimeProvider>(Clocks[siloBuilder.Configuration[ClockKey]!]);
    }

    private sealed class FastFailureDetectionConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.Configure<Orleans.Configuration.ClusterMembershipOptions>(options =>
        {
            options.ProbeTimeout = TimeSpan.FromSeconds(1);
            options.NumMissedProbesLimit = 2;
            options.TableRefreshTimeout = TimeSpan.FromSeconds(2);
        });
    }

    private sealed class AdoNetClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder
                .UseAdoNetClustering(options =>
                {
                    options.Invariant = Silo.Options.DatabaseOptions.NpgsqlInvariant;
                    options.ConnectionString = configuration[ConnectionStringKey];
                })
                .AddMemoryStreams(GrainInterfaces.Scans.StreamNames.Provider);
    }

}
