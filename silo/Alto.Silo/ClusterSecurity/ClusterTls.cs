using Alto.Keys;
using Alto.Silo.Options;
using Npgsql;
using Microsoft.AspNetCore.Connections;
using Orleans.Configuration;
using Orleans.Connections.Security;

namespace Alto.Silo.ClusterSecurity;

/// <summary>
/// Mutual TLS on every Orleans connection of an installation, with <see cref="ClusterCertificate"/>
/// at both ends (Alto:Cluster:Tls, on unless turned off). The certificate comes from the database,
/// so it is loaded as the silo or client starts — before its first connection — and handed to
/// Orleans through selectors that read it then.
/// </summary>
public static partial class ClusterTls
{
    /// <summary>The setting that turns the Orleans ports' TLS off (a network that already authenticates every peer, such as a service mesh).</summary>
    public const string Setting = AltoClusterOptions.Section + ":Tls";

    public static ISiloBuilder UseAltoClusterTls(this ISiloBuilder silo)
    {
        if (!TlsWanted(silo.Configuration))
        {
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, PlaintextWarning>();
            return silo;
        }
        var certificate = new ClusterCertificate();
        silo.Services.AddSingleton(certificate);
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, CertificateLoader>();
        // Before UseTls: middleware added first runs outermost, so it sees how the handshake ended.
        silo.Services.AddSingleton<ClusterConnectionRefusals>();
        silo.Configure<SiloConnectionOptions>(connections =>
        {
            connections.ConfigureSiloInboundConnection(pipeline => Observe(pipeline, ClusterConnectionRefusals.SiloPort));
            connections.ConfigureGatewayInboundConnection(pipeline => Observe(pipeline, ClusterConnectionRefusals.GatewayPort));
        });
        return silo.UseTls(options => Configure(options, certificate));
    }

    /// <summary>
    /// The certificate for an Orleans client (a gateway without a silo), loaded by a hosted service
    /// — so call this before the client is added: the client connects in its own hosted service's
    /// start, before its lifecycle begins. Null when Alto:Cluster:Tls is off.
    /// </summary>
    public static ClusterCertificate? AddAltoClusterCertificate(this IServiceCollection services, IConfiguration configuration)
    {
        if (!TlsWanted(configuration))
        {
            return null;
        }
        var certificate = new ClusterCertificate();
        services.AddSingleton(certificate);
        services.AddHostedService<CertificateLoader>();
        return certificate;
    }

    /// <summary>TLS for an Orleans client with the certificate <see cref="AddAltoClusterCertificate"/> gave (null: plaintext, with a warning).</summary>
    public static IClientBuilder UseAltoClusterTls(this IClientBuilder client, ClusterCertificate? certificate)
    {
        if (certificate is null)
        {
            client.Services.AddSingleton<ILifecycleParticipant<IClusterClientLifecycle>, PlaintextWarning>();
            return client;
        }
        return client.UseTls(options => Configure(options, certificate));
    }

    /// <summary>Alto:Cluster:Tls as <see cref="AltoClusterOptions"/> binds it (its default there), read while the host is built.</summary>
    private static bool TlsWanted(IConfiguration configuration) =>
        (configuration.GetSection(AltoClusterOptions.Section).Get<AltoClusterOptions>() ?? new AltoClusterOptions()).Tls;

    private static void Observe(IConnectionBuilder pipeline, string port)
    {
        var refusals = pipeline.ApplicationServices.GetRequiredService<ClusterConnectionRefusals>();
        pipeline.Use(next => connection => refusals.ObserveAsync(connection, next, port));
    }

    /// <summary>Both ends present the installation's certificate and accept only a peer that presents it too.</summary>
    public static void Configure(TlsOptions options, ClusterCertificate certificate)
    {
        options.LocalServerCertificateSelector = (_, _) => certificate.Certificate;
        options.LocalClientCertificateSelector = (_, _, _, _, _) => certificate.Certificate;
        // No fixed client certificate: the selector gives it once loaded (a fixed one is captured when Orleans builds its pipeline).
        options.ClientCertificateMode = RemoteCertificateMode.AllowCertificate;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        // A self-signed certificate has no chain to trust: the peer's is compared with ours, byte for byte.
        options.RemoteCertificateValidation = (presented, _, _) => certificate.IsInstallationCertificate(presented);
        options.OnAuthenticateAsClient = (_, client) => client.TargetHost = ClusterCertificate.HostName;
    }

    /// <summary>
    /// Loads the certificate after the schema is migrated and before the first connection: first
    /// thing in a silo's lifecycle, or as a hosted service started before an Orleans client's.
    /// </summary>
    private sealed class CertificateLoader(ClusterCertificate certificate, NpgsqlDataSource db, IKeyService keys, ILogger<ClusterCertificate> logger)
        : ILifecycleParticipant<ISiloLifecycle>, IHostedService
    {
        public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(nameof(ClusterTls), ServiceLifecycleStage.First, LoadAsync);

        public Task StartAsync(CancellationToken cancellationToken) => LoadAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        private async Task LoadAsync(CancellationToken cancellationToken)
        {
            await certificate.LoadAsync(db, keys, cancellationToken);
            LogLoaded(logger, certificate.Certificate.Thumbprint);
        }
    }

    /// <summary>Says loudly, at every start, that the Orleans ports take anyone.</summary>
    private sealed class PlaintextWarning(ILogger<ClusterCertificate> logger) : ILifecycleParticipant<ISiloLifecycle>, ILifecycleParticipant<IClusterClientLifecycle>
    {
        public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(nameof(ClusterTls), ServiceLifecycleStage.First, WarnAsync);

        public void Participate(IClusterClientLifecycle lifecycle) => lifecycle.Subscribe(nameof(ClusterTls), ServiceLifecycleStage.First, WarnAsync);

        private Task WarnAsync(CancellationToken cancellationToken)
        {
            LogPlaintext(logger, Setting);
            return Task.CompletedTask;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Orleans connections use mutual TLS with the installation's cluster certificate {Thumbprint}")]
    private static partial void LogLoaded(ILogger logger, string thumbprint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Setting} is false: the Orleans ports accept any caller that reaches them, and such a caller may call any grain of any tenant; keep them on a network only the installation's processes reach")]
    private static partial void LogPlaintext(ILogger logger, string setting);
}
