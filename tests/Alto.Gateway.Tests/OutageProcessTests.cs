using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using Alto.TestSupport;
using Npgsql;

namespace Alto.Gateway.Tests;

/// <summary>
/// What a new operator meets when something is missing, on real gateway processes: a database that
/// goes away answers 503 with Retry-After (and changes nothing) until it is back; a request the
/// cluster does not finish in time answers 503 saying it may still complete; a port another
/// program holds is named at start-up.
/// </summary>
public sealed class OutageProcessTests
{
    private static readonly HttpClient Http = new();

    [Fact]
    public async Task ADatabaseThatGoesAwayGets503WithRetryAfterAndNothingChangesUntilItIsBack()
    {
        await using var database = await TestDatabase.CreateAsync("outage");
        // The gateway reaches PostgreSQL through a relay the test can cut, as a failed link or a restarting server would.
        await using var link = TcpProxy.To(new NpgsqlConnectionStringBuilder(TestDatabase.ServerConnectionString).Port);
        var throughLink = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Port = link.Port, Timeout = 3 }.ConnectionString;
        await using var gateway = await GatewayProcess.StartAsync(database, "outage-" + Guid.NewGuid().ToString("N")[..8],
            new Dictionary<string, string> { ["Alto__Database__ConnectionString"] = throughLink }, TimeSpan.FromSeconds(90));
        using var admin = await AdminApi.SignInAsync(gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenant = await admin.CreateTenantAsync("before-" + Guid.NewGuid().ToString("N")[..8]);

        link.Cut(stayDown: true);
        using var list = await SendAsync(gateway, HttpMethod.Get, "/api/v1/tenants", admin.AccessToken);
        using var create = await SendAsync(gateway, HttpMethod.Post, "/api/v1/tenants", admin.AccessToken, new { name = "during-outage" });
        using var signIn = await Http.PostAsJsonAsync(new Uri(gateway.HttpUrl, "/api/v1/auth/login"), new { username = "admin", password = GatewayProcess.AdminPassword });

        foreach (var response in new[] { list, create, signIn })
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
            Assert.Contains("database cannot be reached", body, StringComparison.Ordinal);
        }

        link.Restore();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        HttpResponseMessage again;
        while ((again = await SendAsync(gateway, HttpMethod.Get, $"/api/v1/tenants/{tenant}", admin.AccessToken)).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, $"still {(int)again.StatusCode} after the database came back");
            again.Dispose();
            await Task.Delay(500);
        }
        again.Dispose();
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM alto.tenant WHERE name = 'during-outage'"));
        var metrics = await gateway.MetricsAsync();
        Assert.True(MetricLines.Sum(metrics, "alto_api_unavailable_total", "cause=\"database\"") > 0, metrics);
    }

    [Fact]
    public async Task ARequestTheClusterDoesNotFinishInTimeGets503SayingItMayStillComplete()
    {
        await using var database = await TestDatabase.CreateAsync("call_timeout");
        await using var gateway = await GatewayProcess.StartAsync(database, "call-timeout-" + Guid.NewGuid().ToString("N")[..8],
            new Dictionary<string, string> { ["Alto__Cluster__CallTimeoutSeconds"] = "2" }, TimeSpan.FromSeconds(90));
        using var admin = await AdminApi.SignInAsync(gateway.HttpUrl, GatewayProcess.AdminPassword);
        var tenant = await admin.CreateTenantAsync("slow-" + Guid.NewGuid().ToString("N")[..8]);

        // Another transaction holds the tenant's row: the tenant grain's write of it waits past the 2 s call timeout.
        await using (var blocker = new NpgsqlConnection(database.ConnectionString))
        {
            await blocker.OpenAsync();
            await using var hold = await blocker.BeginTransactionAsync();
            await using (var lockRow = new NpgsqlCommand($"SELECT count(*) FROM (SELECT 1 FROM alto.tenant WHERE id = '{tenant}' FOR UPDATE) held", blocker, hold))
            {
                Assert.Equal(1L, await lockRow.ExecuteScalarAsync());
            }
            using var patch = await SendAsync(gateway, HttpMethod.Patch, $"/api/v1/tenants/{tenant}", admin.AccessToken, new { description = "written late" });
            var body = await patch.Content.ReadAsStringAsync();
            Assert.True(patch.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)patch.StatusCode} {body}");
            Assert.Equal("application/problem+json", patch.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(5), patch.Headers.RetryAfter?.Delta);
            Assert.Contains("did not finish the request in time", body, StringComparison.Ordinal);
            Assert.Contains("it may still complete", body, StringComparison.Ordinal);
            await hold.CommitAsync();
        }

        // It did: the grain's call went on once the row was free.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await admin.GetAsync($"/api/v1/tenants/{tenant}")).GetProperty("description").GetString() != "written late")
        {
            Assert.True(DateTime.UtcNow < deadline, "the change was not made after the row was free");
            await Task.Delay(250);
        }
        var metrics = await gateway.MetricsAsync();
        Assert.True(MetricLines.Sum(metrics, "alto_api_unavailable_total", "cause=\"timeout\"") > 0, metrics);
        Assert.Contains("did not finish /api/v1/tenants/", gateway.Run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APortAnotherProgramHoldsIsNamedWithItsSetting()
    {
        await using var database = await TestDatabase.CreateAsync("port-taken");
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;

        await using var run = ProgramRun.Start(RepositoryPaths.ProgramDll("gateway-api/Alto.Gateway", "Alto.Gateway"), new Dictionary<string, string>
        {
            ["Alto__Database__ConnectionString"] = database.ConnectionString,
            ["Alto__Keys__MasterKeyFile"] = database.MasterKeyFile,
            ["Alto__Gateway__HttpUrl"] = $"http://127.0.0.1:{taken}",
            ["Alto__Gateway__GrpcUrl"] = $"http://127.0.0.1:{FreePorts.Next()}",
            ["Alto__Cluster__SiloPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Alto__Cluster__GatewayPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Alto__Auth__BootstrapAdminPassword"] = GatewayProcess.AdminPassword,
        });

        Assert.Equal(5, await run.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        Assert.Contains($"port {taken} (Alto:Gateway:HttpUrl) is already in use by another program", run.Output, StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> SendAsync(GatewayProcess gateway, HttpMethod method, string path, string token, object? body = null)
    {
        var request = new HttpRequestMessage(method, new Uri(gateway.HttpUrl, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        return Http.SendAsync(request);
    }
}
