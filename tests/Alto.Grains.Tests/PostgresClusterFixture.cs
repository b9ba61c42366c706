using Alto.Silo.Extensions;
using Alto.TestSupport;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;

namespace Alto.Grains.Tests;

/// <summary>
/// Three in-process silos on a fresh, migrated PostgreSQL database, using Alto's real ADO.NET
/// clustering, grain storage and reminders (not the test cluster's in-memory membership).
/// </summary>
public sealed class PostgresClusterFixture : IAsyncLifetime
{
    public const short SiloCount = 3;

    public TestDatabase Database { get; private set; } = null!;

    public TestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync("cluster");
        await Database.MigrateAsync();

        Cluster = await StartClusterAsync(Database, SiloCount);
    }

    /// <summary>
    /// Deploys <paramref name="silos"/> Alto silos and a client on <paramref name="database"/>;
    /// with <paramref name="fastFailureDetection"/>, a killed silo is declared dead within seconds
    /// rather than the default half minute.
    /// </summary>
    public static async Task<TestCluster> StartClusterAsync(TestDatabase database, short silos, bool fastFailureDetection = false)
    {
        var builder = new TestClusterBuilder(silos);
        builder.Options.UseTestClusterMembership = false;
        builder.ConfigureHostConfiguration(configuration => configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [ConnectionStringKey] = database.ConnectionString,
            ["Alto:Keys:MasterKeyFile"] = database.MasterKeyFile,
            // Short leases, so re-sending a job that was not finished can be seen within a test.
            ["Alto:Dispatch:Lease"] = "00:00:02",
            // A failed file is tried again 3 s, then 6 s later: retries and abandonment within a test.
            ["Alto:Tiering:Retry:Base"] = "00:00:03",
        }));
        builder.AddSiloBuilderConfigurator<AltoSiloConfigurator>();
        if (fastFailureDetection)
        {
            builder.AddSiloBuilderConfigurator<FastFailureDetectionConfigurator>();
        }
        builder.AddClientBuilderConfigurator<AdoNetClientConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private const string ConnectionStringKey = "Alto:Database:ConnectionString";

    private sealed class AltoSiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddAltoSiloCore();
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

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Database.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresClusterCollection : ICollectionFixture<PostgresClusterFixture>
{
    public const string Name = "postgres-cluster";
}
