using System.Globalization;

namespace Alto.TestSupport;

/// <summary>
/// The real gateway program (with its co-hosted silo) as a process on free loopback ports and a
/// database of its own: the thing agents connect to, over real sockets.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private GatewayProcess(TestDatabase database, ProgramRun run, Uri http, Uri grpc)
    {
        Database = database;
        Run = run;
        HttpUrl = http;
        GrpcUrl = grpc;
    }

    public TestDatabase Database { get; }

    public ProgramRun Run { get; }

    public Uri HttpUrl { get; }

    public Uri GrpcUrl { get; }

    public static async Task<GatewayProcess> StartAsync(string purpose, TimeSpan patience)
    {
        var database = await TestDatabase.CreateAsync(purpose);
        var http = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
        var grpc = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
        var run = ProgramRun.Start(RepositoryPaths.ProgramDll("gateway-api/Alto.Gateway", "Alto.Gateway"), new Dictionary<string, string>
        {
            ["Alto__Database__ConnectionString"] = database.ConnectionString,
            ["Alto__Gateway__HttpUrl"] = http.ToString().TrimEnd('/'),
            ["Alto__Gateway__GrpcUrl"] = grpc.ToString().TrimEnd('/'),
            ["Alto__Cluster__ClusterId"] = purpose,
            ["Alto__Cluster__SiloPort"] = FreePorts.Next().ToString(CultureInfo.InvariantCulture),
            ["Alto__Cluster__GatewayPort"] = FreePorts.Next().ToString(CultureInfo.InvariantCulture),
            ["Alto__Auth__BootstrapAdminPassword"] = "process-admin-password",
        });
        var gateway = new GatewayProcess(database, run, http, grpc);
        await gateway.WaitUntilReadyAsync(patience);
        return gateway;
    }

    public async ValueTask DisposeAsync()
    {
        await Run.StopAsync(TimeSpan.FromSeconds(30));
        await Run.DisposeAsync();
        await Database.DisposeAsync();
    }

    private async Task WaitUntilReadyAsync(TimeSpan patience)
    {
        using var client = new HttpClient { BaseAddress = HttpUrl, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + patience;
        while (DateTime.UtcNow < deadline)
        {
            if (Run.HasExited)
            {
                throw new InvalidOperationException("the gateway exited during start-up:\n" + Run.Output);
            }
            try
            {
                if ((await client.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow first answer; try again.
            }
            await Task.Delay(250);
        }
        throw new TimeoutException("the gateway did not become ready:\n" + Run.Output);
    }
}
