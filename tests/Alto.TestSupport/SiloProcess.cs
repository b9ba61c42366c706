using System.Globalization;

namespace Alto.TestSupport;

/// <summary>The real standalone silo program as a process on free loopback ports.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private SiloProcess(ProgramRun run, Uri http, int siloPort, int gatewayPort)
    {
        Run = run;
        HttpUrl = http;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
    }

    public ProgramRun Run { get; }

    public Uri HttpUrl { get; }

    public int SiloPort { get; }

    /// <summary>The port Orleans clients connect to.</summary>
    public int GatewayPort { get; }

    /// <summary>
    /// Starts a silo; a fixed <paramref name="siloPort"/> restarts "the same" silo, a free one is used when null;
    /// <paramref name="settings"/> override the defaults.
    /// </summary>
    public static async Task<SiloProcess> StartAsync(
        TestDatabase database, string clusterId, TimeSpan patience, int? siloPort = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var http = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
        var port = siloPort ?? FreePorts.Next();
        var gatewayPort = FreePorts.Next();
        var environment = new Dictionary<string, string>
        {
            ["Alto__Database__ConnectionString"] = database.ConnectionString,
            ["Alto__Keys__MasterKeyFile"] = database.MasterKeyFile,
            ["Alto__Silo__HttpUrl"] = http.ToString().TrimEnd('/'),
            ["Alto__Cluster__ClusterId"] = clusterId,
            ["Alto__Cluster__SiloPort"] = port.ToString(CultureInfo.InvariantCulture),
            ["Alto__Cluster__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
            ["Alto__Metrics__TokenSha256"] = GatewayProcess.ScrapeTokenSha256,
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
        {
            environment[name] = value;
        }
        var run = ProgramRun.Start(RepositoryPaths.ProgramDll("silo/Alto.Silo", "Alto.Silo"), environment);
        var silo = new SiloProcess(run, http, port, gatewayPort);
        await Readiness.WaitAsync(http, run, patience);
        return silo;
    }

    /// <summary>/metrics as Prometheus reads it (with the scrape token).</summary>
    public Task<string> MetricsAsync() => GatewayProcess.ScrapeAsync(HttpUrl);

    public async ValueTask DisposeAsync()
    {
        if (Run.IsDisposed)
        {
            return; // disposed already, by the test that ended it early
        }
        await Run.StopAsync(TimeSpan.FromSeconds(30));
        await Run.DisposeAsync();
    }
}
