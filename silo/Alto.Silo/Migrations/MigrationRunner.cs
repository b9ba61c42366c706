using Npgsql;

namespace Alto.Silo.Migrations;

/// <summary>The database's schema is newer than this build: running would risk the data.</summary>
public sealed class DatabaseNewerThanCodeException(int databaseVersion, int codeVersion)
    : Exception($"The database schema is at version {databaseVersion} but this build of Alto knows only up to version {codeVersion}; " +
                "start a newer build of Alto against this database, or restore a backup made for this version")
{
    public int DatabaseVersion { get; } = databaseVersion;

    public int CodeVersion { get; } = codeVersion;
}

/// <summary>An applied migration no longer matches the SQL this build carries.</summary>
public sealed class MigrationChecksumException(int version, string name)
    : Exception($"Migration {version:D4}_{name} was changed after it was applied to this database; migrations are immutable once released");

public sealed record MigrationReport(int FromVersion, int ToVersion, IReadOnlyList<string> Applied);

/// <summary>
/// Brings the database to the schema this build expects: each pending migration runs in its own
/// transaction and is recorded in public.alto_schema_version. Several silos may start at once; an
/// advisory lock lets one migrate while the others wait and then find nothing to do.
/// </summary>
public sealed partial class MigrationRunner(NpgsqlDataSource db, ILogger<MigrationRunner> logger, IReadOnlyList<Migration>? migrations = null)
{
    /// <summary>Arbitrary, fixed: identifies Alto's migration lock among other advisory locks.</summary>
    private const long AdvisoryLockKey = 0x416C746F_4D696772; // "AltoMigr"

    private readonly IReadOnlyList<Migration> _migrations = migrations ?? Migration.Embedded;

    public int CodeVersion => _migrations.Count == 0 ? 0 : _migrations[^1].Version;

    public async Task<MigrationReport> MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await ExecuteAsync(connection, $"SELECT pg_advisory_lock({AdvisoryLockKey})", cancellationToken);
        try
        {
            await ExecuteAsync(connection, """
                CREATE TABLE IF NOT EXISTS public.alto_schema_version
                (
                    version    integer PRIMARY KEY,
                    name       text        NOT NULL,
                    checksum   text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, cancellationToken);

            var applied = await ReadAppliedAsync(connection, cancellationToken);
            var databaseVersion = applied.Count == 0 ? 0 : applied.Keys.Max();
            if (databaseVersion > CodeVersion)
            {
                throw new DatabaseNewerThanCodeException(databaseVersion, CodeVersion);
            }

            var done = new List<string>();
            foreach (var migration in _migrations)
            {
                if (applied.TryGetValue(migration.Version, out var checksum))
                {
                    if (checksum != migration.Checksum)
                    {
                        throw new MigrationChecksumException(migration.Version, migration.Name);
                    }
                    continue;
                }
                await ApplyAsync(connection, migration, cancellationToken);
                done.Add($"{migration.Version:D4}_{migration.Name}");
                LogApplied(logger, migration.Version, migration.Name);
            }
            return new MigrationReport(databaseVersion, CodeVersion, done);
        }
        finally
        {
            await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({AdvisoryLockKey})", CancellationToken.None);
        }
    }

    private static async Task ApplyAsync(NpgsqlConnection connection, Migration migration, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand(migration.Sql, connection, transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var record = new NpgsqlCommand(
            "INSERT INTO public.alto_schema_version (version, name, checksum) VALUES ($1, $2, $3)", connection, transaction))
        {
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = migration.Version });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Name });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Checksum });
            await record.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task<Dictionary<int, string>> ReadAppliedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var applied = new Dictionary<int, string>();
        await using var command = new NpgsqlCommand("SELECT version, checksum FROM public.alto_schema_version", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            applied[reader.GetInt32(0)] = reader.GetString(1);
        }
        return applied;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied database migration {Version:D4}_{Name}")]
    private static partial void LogApplied(ILogger logger, int version, string name);
}
