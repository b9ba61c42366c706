using Alto.TestSupport;
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

    /// <summary>Deploys Alto silos and a client on <paramref name="database"/> (see <see cref="AltoTestCluster"/>).</summary>
    public static Task<TestCluster> StartClusterAsync(TestDatabase database, short silos, bool fastFailureDetection = false) =>
        AltoTestCluster.StartAsync(database, silos, fastFailureDetection);

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
