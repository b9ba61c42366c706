using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Alto.Keys;
using Alto.Silo.ClusterSecurity;
using Alto.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace Alto.Gateway.Tests;

/// <summary>
/// A real silo's Orleans ports as a caller sees them who reaches the network but lacks the
/// installation's keys. Orleans authenticates nobody by itself, and a client it accepts may call
/// any grain of any tenant; only the installation's certificate opens them.
/// </summary>
public sealed class ClusterPortTests
{
    private const string Cluster = "ports";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    /// <summary>How long a client the silo should refuse is given: a served one connects in about a second.</summary>
    private static readonly TimeSpan Refused = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task TheOrleansPortsServeOnlyACallerWithTheInstallationsCertificate()
    {
        await using var database = await TestDatabase.CreateAsync("clusterports");
        await database.MigrateAsync();
        await using var silo = await SiloProcess.StartAsync(database, Cluster, Patience);

        // The installation's own certificate, as every silo and gateway of it loads it: the control
        // that shows the refusals below are for the certificate, not for a client that cannot connect at all.
        var installation = new ClusterCertificate();
        await installation.LoadAsync(database.DataSource, new LocalKeyring(database.DataSource, MasterKey.Load(new KeyOptions { MasterKeyFile = database.MasterKeyFile })), default);
        using (var trusted = await StartClientAsync(silo.GatewayPort, client => client.UseTls(options => ClusterTls.Configure(options, installation))))
        {
            var hosts = await trusted.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            Assert.Single(hosts);
            await trusted.StopAsync();
        }
        var server = installation.Certificate;
        Assert.True(await SiloAnswersAsync(silo.SiloPort, installation.Certificate, server));

        // An Orleans client as it comes, no TLS at all: it never gets a connection (it keeps trying until given up).
        await Assert.ThrowsAnyAsync<Exception>(() => StartClientAsync(silo.GatewayPort, _ => { }, Refused));
        // A client with a certificate of its own making, accepting whatever the silo shows.
        using var own = X509CertificateLoader.LoadPkcs12(ClusterCertificate.Generate(), password: null);
        await Assert.ThrowsAnyAsync<Exception>(() => StartClientAsync(silo.GatewayPort, client => client.UseTls(own, options =>
        {
            options.AllowAnyRemoteCertificate();
            options.OnAuthenticateAsClient = (_, tls) => tls.TargetHost = ClusterCertificate.HostName;
        }), Refused));
        // The silo-to-silo port likewise: a TLS connection with another certificate gets nothing from the silo.
        Assert.False(await SiloAnswersAsync(silo.SiloPort, own, server));
        // The certificate's copy without its key (what a peer shows on the wire) proves nothing either: TLS wants the key.
        using var wireCopy = X509CertificateLoader.LoadCertificate(installation.Certificate.RawData);
        Assert.False(await SiloAnswersAsync(silo.SiloPort, wireCopy, server));

        // Refused, and seen: counted by port (the silo port's two probes exactly: the trusted one is not
        // among them), logged, and audited in the platform's chain with the caller's address (at most
        // 20 entries an address a minute, which the gateway port's retrying clients spend first).
        string metrics = "";
        await Eventually.WaitAsync(async () => MetricLines.Sum(metrics = await silo.MetricsAsync(), "alto_cluster_connections_refused_total", "port=\"Alto:Cluster:SiloPort\"") >= 2,
            "both refused probes of the silo port counted");
        Assert.Equal(2, MetricLines.Sum(metrics, "alto_cluster_connections_refused_total", "port=\"Alto:Cluster:SiloPort\""));
        Assert.True(MetricLines.Sum(metrics, "alto_cluster_connections_refused_total", "port=\"Alto:Cluster:GatewayPort\"") >= 2);
        Assert.Contains("Refused a connection to Alto:Cluster:SiloPort from 127.0.0.1", silo.Run.Output, StringComparison.Ordinal);
        Assert.True(await database.CountAsync(
            "SELECT count(*) FROM alto.audit_log WHERE tenant_id IS NULL AND action = 'cluster.connection_refused' AND origin = '127.0.0.1' AND outcome = 'failure'") > 0);
    }

    [Fact]
    public async Task WithTlsTurnedOffAPlainClientIsServedAndTheSiloSaysSoAtStart()
    {
        await using var database = await TestDatabase.CreateAsync("clusterplain");
        await database.MigrateAsync();
        await using var silo = await SiloProcess.StartAsync(database, Cluster, Patience,
            settings: new Dictionary<string, string> { ["Alto__Cluster__Tls"] = "false" });

        using (var plain = await StartClientAsync(silo.GatewayPort, _ => { }))
        {
            Assert.Single(await plain.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true));
            await plain.StopAsync();
        }
        Assert.Contains("Alto:Cluster:Tls is false: the Orleans ports accept any caller", silo.Run.Output, StringComparison.Ordinal);
    }

    /// <summary>An Orleans client of the silo's gateway port, started (connected) or throwing why not.</summary>
    private static async Task<IHost> StartClientAsync(int gatewayPort, Action<IClientBuilder> configure, TimeSpan? giveUpAfter = null)
    {
        var host = new HostBuilder().UseOrleansClient(client =>
        {
            client.UseStaticClustering(new IPEndPoint(IPAddress.Loopback, gatewayPort));
            client.Configure<ClusterOptions>(options => (options.ClusterId, options.ServiceId) = (Cluster, "alto"));
            configure(client);
        }).Build();
        try
        {
            using var timeout = new CancellationTokenSource(giveUpAfter ?? Patience);
            await host.StartAsync(timeout.Token);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether the silo port sends anything (its connection preamble) to a TLS client presenting
    /// <paramref name="certificate"/>: a refused client sees the connection end instead. The silo
    /// must show <paramref name="server"/>, so a refusal is the silo's, not the probe's.
    /// </summary>
    private static async Task<bool> SiloAnswersAsync(int siloPort, X509Certificate2 certificate, X509Certificate2 server)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, siloPort);
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false,
            (_, presented, _, _) => presented is not null && presented.GetRawCertData().AsSpan().SequenceEqual(server.RawData));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = ClusterCertificate.HostName,
                ClientCertificates = [certificate],
            }, timeout.Token);
            var buffer = new byte[64];
            return await tls.ReadAsync(buffer, timeout.Token) > 0;
        }
        catch (Exception exception) when (exception is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            return false;
        }
    }
}
