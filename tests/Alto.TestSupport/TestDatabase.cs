using Alto.Silo.Migrations;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Alto.TestSupport;

/// <summary>
/// A database of its own for one fixture, on the PostgreSQL that scripts/test.sh starts (or the
/// server named by ALTO_TEST_PG). Created empty; <see cref="MigrateAsync"/> applies db/migrations.
/// Dropped when the fixture ends.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public const string ServerVariable = "ALTO_TEST_PG";
    private const string DefaultServer = "Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres";

    private TestDatabase(string name, string connectionString, NpgsqlDataSource dataSource)
    {
        Name = name;
        ConnectionString = connectionString;
        DataSource = dataSource;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public NpgsqlDataSource DataSource { get; }

    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } configured ? configured : DefaultServer;

    public static async Task<TestDatabase> CreateAsync(string purpose)
    {
        var name = $"alto_test_{purpose}_{Guid.NewGuid():N}".ToLowerInvariant();
        name = name[..Math.Min(name.Length, 63)];
        await using (var server = new NpgsqlConnection(ServerConnectionString))
        {
            await server.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", server);
            await create.ExecuteNonQueryAsync();
        }
        var builder = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name, MaxPoolSize = 50 };
        var connectionString = builder.ConnectionString;
        return new TestDatabase(name, connectionString, NpgsqlDataSource.Create(connectionString));
    }

    public MigrationRunner CreateRunner(IReadOnlyList<Migration>? migrations = null) =>
        new(DataSource, NullLogger<MigrationRunner>.Instance, migrations);

    public Task<MigrationReport> MigrateAsync() => CreateRunner().MigrateAsync();

    public async Task<long> CountAsync(string sql) =>
        Convert.ToInt64(await ScalarAsync<object>(sql), System.Globalization.CultureInfo.InvariantCulture);

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var server = new NpgsqlConnection(ServerConnectionString);
        await server.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", server);
        await drop.ExecuteNonQueryAsync();
    }
}
