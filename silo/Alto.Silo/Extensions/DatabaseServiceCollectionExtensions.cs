using Alto.Silo.Migrations;
using Alto.Silo.Options;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Alto.Silo.Extensions;

public static class DatabaseServiceCollectionExtensions
{
    /// <summary>Validated database options, the shared NpgsqlDataSource and the migration runner.</summary>
    public static IServiceCollection AddAltoDatabase(this IServiceCollection services)
    {
        services.AddOptions<DatabaseOptions>()
            .BindConfiguration(DatabaseOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            var builder = new NpgsqlDataSourceBuilder(options.ConnectionString);
            builder.ConnectionStringBuilder.Timeout = options.ConnectTimeoutSeconds;
            builder.ConnectionStringBuilder.ApplicationName ??= "alto";
            // A pooled connection is not reset (DISCARD ALL, one more statement and transaction
            // before each reuse): Alto leaves no session state behind — its temporary tables drop
            // on commit, its settings are SET LOCAL, its advisory locks are released (or held for
            // the transaction only) — so the reset would only double the statements of every step.
            builder.ConnectionStringBuilder.NoResetOnClose = true;
            // The pool's name labels Npgsql's metrics; unnamed, it is the connection string (host and user).
            builder.Name = "alto";
            return builder.Build();
        });
        services.TryAddSingleton<MigrationRunner>();
        return services;
    }

    /// <summary>
    /// Migrates the database as the host starts. Call before UseOrleans: hosted services start in
    /// order, and Orleans must find its tables.
    /// </summary>
    public static IServiceCollection AddAltoSchemaMigration(this IServiceCollection services)
    {
        services.AddAltoDatabase();
        services.AddHostedService<SchemaMigrationService>();
        return services;
    }
}
