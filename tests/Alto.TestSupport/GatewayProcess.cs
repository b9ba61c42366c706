using System.Globalization;

namespace Alto.TestSupport;

/// <summary>
/// The real gateway program (with its co-hosted silo) as a process on free loopback ports and a
/// database of its own: the thing agents connect to, over real sockets.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly bool _ownsDatabase;

    private GatewayProcess(TestDatabase database, bool ownsDatabase, ProgramRun run, Uri http, Uri grpc)
    {
        Database = database;
        _ownsDatabase = ownsDatabase;
        Run = run;
        HttpUrl = http;
        GrpcUrl = grpc;
    }

    public const string AdminPassword = "process-admin-Kq7mZ-2931";

    /// <summary>The scrape token every test gateway takes for /metrics (its SHA-256 is in the gateway's settings).</summary>
    public const string ScrapeToken = "test-scrape-token-0123456789";

    public static string ScrapeTokenSha256 => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(ScrapeToken)));

    public TestDatabase Database { get; }

    public ProgramRun Run { get; }

    public Uri HttpUrl { get; }

    public Uri GrpcUrl { get; }

    /// <summary>Starts a gateway on a database of its own, dropped when the gateway is disposed.</summary>
    public static Task<GatewayProcess> StartAsync(string purpose, TimeSpan patience) => StartAsync(purpose, new Dictionary<string, string>(), patience);

    /// <summary>Starts a gateway on a database of its own, with <paramref name="settings"/> overriding the defaults.</summary>
    public static async Task<GatewayProcess> StartAsync(string purpose, IReadOnlyDictionary<string, string> settings, TimeSpan patience) =>
        await StartAsync(await TestDatabase.CreateAsync(purpose), ownsDatabase: true, purpose, settings, patience);

    /// <summary>Starts a gateway on the caller's <paramref name="database"/>; <paramref name="settings"/> override the defaults.</summary>
    public static Task<GatewayProcess> StartAsync(
        TestDatabase database, string clusterId, IReadOnlyDictionary<string, string> settings, TimeSpan patience) =>
        StartAsync(database, ownsDatabase: false, clusterId, settings, patience);

    private static async Task<GatewayProcess> StartAsync(
        TestDatabase database, bool ownsDatabase, string clusterId, IReadOnlyDictionary<string, string> settings, TimeSpan patience)
    {
        for (var attempt = 1; ; attempt++)
        {
            var http = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
            var grpc = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
            var environment = new Dictionary<string, string>
            {
                ["Alto__Database__ConnectionString"] = database.ConnectionString,
                ["Alto__Keys__MasterKeyFile"] = database.MasterKeyFile,
                ["Alto__Gateway__HttpUrl"] = http.ToString().TrimEnd('/'),
                ["Alto__Gateway__GrpcUrl"] = grpc.ToString().TrimEnd('/'),
                ["Alto__Cluster__ClusterId"] = clusterId,
                ["Alto__Cluster__SiloPort"] = FreePorts.Next().ToString(CultureInfo.InvariantCulture),
                ["Alto__Cluster__GatewayPort"] = FreePorts.Next().ToString(CultureInfo.InvariantCulture),
                ["Alto__Auth__BootstrapAdminPassword"] = AdminPassword,
                // Short agent heartbeats, so online/offline transitions take seconds in tests.
                ["Alto__Agents__HeartbeatSeconds"] = "1",
                ["Alto__Agents__HeartbeatTimeoutSeconds"] = "3",
                // Tests sign in and enroll often from one address.
                ["Alto__Auth__LoginAttemptsPerMinute"] = "10000",
                ["Alto__Metrics__TokenSha256"] = ScrapeTokenSha256,
            };
            foreach (var (name, value) in settings)
            {
                environment[name] = value;
            }
            var run = ProgramRun.Start(RepositoryPaths.ProgramDll("gateway-api/Alto.Gateway", "Alto.Gateway"), environment);
            try
            {
                await Readiness.WaitAsync(http, run, patience);
                return new GatewayProcess(database, ownsDatabase, run, http, grpc);
            }
            catch (InvalidOperationException) when (attempt < 3 && run.Output.Contains("is already in use by another program", StringComparison.Ordinal))
            {
                // A port the OS called free was taken (by another test's connection) before the gateway bound it: new ports, again.
                await run.DisposeAsync();
            }
        }
    }

    /// <summary>/metrics as Prometheus reads it (with the scrape token).</summary>
    public Task<string> MetricsAsync() => ScrapeAsync(HttpUrl);

    /// <summary>/metrics of an Alto process (gateway or silo) started with the test scrape token.</summary>
    public static async Task<string> ScrapeAsync(Uri processUrl)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(processUrl, "/metrics"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ScrapeToken);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Run.IsDisposed)
        {
            return; // disposed already, by the test that ended it early
        }
        await Run.StopAsync(TimeSpan.FromSeconds(30));
        await Run.DisposeAsync();
        if (_ownsDatabase)
        {
            await Database.DisposeAsync();
        }
    }
}
