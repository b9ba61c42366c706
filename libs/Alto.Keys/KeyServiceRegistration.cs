using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Alto.Keys;

public static class KeyServiceRegistration
{
    /// <summary>The configured <see cref="IKeyService"/> (Alto:Keys), checked and made ready when the host starts.</summary>
    public static IServiceCollection AddAltoKeys(this IServiceCollection services)
    {
        // A gateway that carries a silo registers the keys twice (its own, and the silo's): once is enough.
        if (services.Any(service => service.ServiceType == typeof(IKeyService)))
        {
            return services;
        }
        services.AddOptions<KeyOptions>().BindConfiguration(KeyOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<KeyOptions>, KeyOptionsValidation>();
        services.AddHttpClient(nameof(VaultTransitKeyService), client => client.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton<IKeyService>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<KeyOptions>>().Value;
            return options.Provider == "vault"
                ? new VaultTransitKeyService(provider.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(VaultTransitKeyService)), options.Vault)
                : new LocalKeyring(provider.GetRequiredService<NpgsqlDataSource>(), MasterKey.Load(options));
        });
        services.AddHostedService<KeysAtStart>();
        return services;
    }

    /// <summary>Loads (or at first start generates) the master key at start, so a bad key stops the process there.</summary>
    private sealed class KeysAtStart(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            services.GetRequiredService<IKeyService>();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
