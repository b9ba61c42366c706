using System.Net;
using Alto.Grains;
using Alto.GrainInterfaces.Scans;
using Alto.Grains.Persistence;
using Alto.Silo.Scans;
using Alto.Grains.Hosts;
using Alto.Grains.Planning;
using Alto.Silo.ClusterSecurity;
using Alto.Silo.Options;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;

namespace Alto.Silo.Extensions;

public static class SiloBuilderExtensions
{
    /// <summary>
    /// A full Alto silo: cluster identity and endpoints from <see cref="AltoClusterOptions"/>, plus
    /// everything in <see cref="AddAltoSiloCore"/>.
    /// </summary>
    public static ISiloBuilder AddAltoSilo(this ISiloBuilder silo)
    {
        silo.Services.AddOptions<AltoClusterOptions>()
            .BindConfiguration(AltoClusterOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        silo.Services.AddSingleton(provider => new Startup.ListeningPort("Alto:Cluster:SiloPort", provider.GetRequiredService<IOptions<AltoClusterOptions>>().Value.SiloPort));
        silo.Services.AddSingleton(provider => new Startup.ListeningPort("Alto:Cluster:GatewayPort", provider.GetRequiredService<IOptions<AltoClusterOptions>>().Value.GatewayPort));
        silo.Services.AddOptions<ClusterOptions>().Configure<IOptions<AltoClusterOptions>>((cluster, alto) =>
        {
            cluster.ClusterId = alto.Value.ClusterId;
            cluster.ServiceId = alto.Value.ServiceId;
        });
        silo.Services.AddOptions<EndpointOptions>().Configure<IOptions<AltoClusterOptions>>((endpoints, alto) =>
        {
            var address = IPAddress.Parse(alto.Value.AdvertisedAddress);
            endpoints.AdvertisedIPAddress = address;
            endpoints.SiloPort = alto.Value.SiloPort;
            endpoints.GatewayPort = alto.Value.GatewayPort;
            var listen = alto.Value.ListenOnAnyAddress ? IPAddress.Any : address;
            endpoints.SiloListeningEndpoint = new IPEndPoint(listen, alto.Value.SiloPort);
            endpoints.GatewayListeningEndpoint = alto.Value.GatewayPort == 0 ? null : new IPEndPoint(listen, alto.Value.GatewayPort);
        });
        silo.Services.AddOptions<SiloMessagingOptions>().Configure<IOptions<AltoClusterOptions>>((messaging, alto) =>
            messaging.ResponseTimeout = TimeSpan.FromSeconds(alto.Value.CallTimeoutSeconds));
        silo.UseAltoClusterTls();
        return silo.AddAltoSiloCore();
    }

    /// <summary>
    /// Clustering, grain storage and reminders on PostgreSQL, the dashboard, and the services the
    /// grains need. Cluster identity and endpoints are left to the caller (tests set their own).
    /// </summary>
    public static ISiloBuilder AddAltoSiloCore(this ISiloBuilder silo)
    {
        silo.Services.AddAltoDatabase();
        silo.Services.AddAltoGrainServices();
        silo.Services.AddOptions<PlannerOptions>()
            .BindConfiguration(PlannerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        silo.Services.AddOptions<DispatchOptions>()
            .BindConfiguration(DispatchOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        silo.Services.AddOptions<Grains.Scans.IngestOptions>()
            .BindConfiguration(Grains.Scans.IngestOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        silo.Services.AddOptions<Grains.Trail.TrailOptions>()
            .BindConfiguration(Grains.Trail.TrailOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        silo.Services.AddOptions<Grains.Tiers.TierRetryOptions>()
            .BindConfiguration(Grains.Tiers.TierRetryOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        silo.UseAdoNetClustering(options => options.Configure<IOptions<DatabaseOptions>>((clustering, db) =>
        {
            clustering.Invariant = DatabaseOptions.NpgsqlInvariant;
            clustering.ConnectionString = db.Value.ConnectionString;
        }));
        silo.AddAdoNetGrainStorage(StorageNames.Grains, options => options.Configure<IOptions<DatabaseOptions>>((storage, db) =>
        {
            storage.Invariant = DatabaseOptions.NpgsqlInvariant;
            storage.ConnectionString = db.Value.ConnectionString;
        }));
        silo.UseAdoNetReminderService(options => options.Configure<IOptions<DatabaseOptions>>((reminders, db) =>
        {
            reminders.Invariant = DatabaseOptions.NpgsqlInvariant;
            reminders.ConnectionString = db.Value.ConnectionString;
        }));

        // Streams: in-memory delivery, subscriptions kept in PostgreSQL like all grain state.
        silo.AddMemoryStreams(StreamNames.Provider);
        silo.AddAdoNetGrainStorage("PubSubStore", options => options.Configure<IOptions<DatabaseOptions>>((storage, db) =>
        {
            storage.Invariant = DatabaseOptions.NpgsqlInvariant;
            storage.ConnectionString = db.Value.ConnectionString;
        }));

        silo.AddIncomingGrainCallFilter<Grains.GrainCallMetrics>();
        silo.Services.AddSingleton<ScanRecovery>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(provider => provider.GetRequiredService<ScanRecovery>());

        // Every silo must carry the dashboard: a silo without it breaks the others' dashboard grains.
        silo.AddDashboard();
        return silo;
    }
}
