using Alto.TestSupport;

namespace Alto.Silo.Tests;

/// <summary>
/// Runs the real silo program. Bad settings, an unreachable database and a schema newer than the
/// code must each end the process with one clear line and its own exit code, never a stack trace.
/// </summary>
public sealed class SiloProcessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ABadSettingStopsTheSiloWithOneClearLine()
    {
        await using var silo = StartSilo(new()
        {
            ["Alto__Cluster__AdvertisedAddress"] = "not-an-ip",
            ["Alto__Database__ConnectionString"] = "Host=127.0.0.1;Port=1;Database=none;Username=postgres",
        });

        Assert.Equal(2, await silo.WaitForExitAsync(Patience));
        AssertOneCriticalLine(silo.Output, "Invalid configuration", "AdvertisedAddress");
    }

    [Fact]
    public async Task AMistypedSettingStopsTheSiloNamingTheOneMeantAndTheGatewaysSettingsPass()
    {
        await using var silo = StartSilo(new()
        {
            ["Alto__Planner__MaxConcurentPlans"] = "8",
            // One configuration may serve a silo and a gateway: the gateway's own settings are not the silo's mistakes.
            ["Alto__Auth__TokenLifetime"] = "01:00:00",
            ["Alto__Database__ConnectionString"] = "Host=127.0.0.1;Port=1;Database=none;Username=postgres",
        });

        Assert.Equal(2, await silo.WaitForExitAsync(Patience));
        AssertOneCriticalLine(silo.Output, "Invalid configuration: unknown setting Alto:Planner:MaxConcurentPlans (not read by any part of Alto; did you mean Alto:Planner:MaxConcurrentPlans?)");
        Assert.DoesNotContain("Auth", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableDatabaseStopsTheSiloWithOneClearLine()
    {
        var closedPort = FreePorts.Next();
        await using var silo = StartSilo(new()
        {
            ["Alto__Database__ConnectionString"] = $"Host=127.0.0.1;Port={closedPort};Database=alto;Username=postgres",
        });

        Assert.Equal(3, await silo.WaitForExitAsync(Patience));
        AssertOneCriticalLine(silo.Output, "Cannot reach PostgreSQL", $"127.0.0.1:{closedPort}");
    }

    [Fact]
    public async Task ASchemaNewerThanTheCodeStopsTheSilo()
    {
        await using var database = await TestDatabase.CreateAsync("future");
        await database.MigrateAsync();
        // A mistyped database setting would migrate the default database instead: refused before any database is reached.
        await using (var mistyped = StartSilo(new() { ["Alto__Databse__ConnectionString"] = database.ConnectionString }, "migrate"))
        {
            Assert.Equal(2, await mistyped.WaitForExitAsync(Patience));
            AssertOneCriticalLine(mistyped.Output, "unknown setting Alto:Databse:ConnectionString", "did you mean Alto:Database:ConnectionString?");
        }

        await database.ExecuteAsync("INSERT INTO public.alto_schema_version (version, name, checksum) VALUES (9999, 'future', 'x')");

        await using var silo = StartSilo(new() { ["Alto__Database__ConnectionString"] = database.ConnectionString });

        Assert.Equal(4, await silo.WaitForExitAsync(Patience));
        AssertOneCriticalLine(silo.Output, "Refusing to start", "version 9999");
    }

    [Fact]
    public async Task AStandaloneSiloServesHealthAndMetricsToTheScraperOnlyAndLeavesCleanly()
    {
        await using var database = await TestDatabase.CreateAsync("standalone");
        var http = FreePorts.Next();
        var siloPort = FreePorts.Next();
        await using var silo = StartSilo(new()
        {
            ["Alto__Database__ConnectionString"] = database.ConnectionString,
            ["Alto__Silo__HttpUrl"] = $"http://127.0.0.1:{http}",
            ["Alto__Cluster__SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Alto__Cluster__GatewayPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Alto__Cluster__ClusterId"] = "standalone-test",
            ["Alto__Metrics__TokenSha256"] = GatewayProcess.ScrapeTokenSha256,
        });

        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}") };
        await Readiness.WaitAsync(client.BaseAddress!, silo, Patience);
        // The dashboard is the gateway's (behind a platform admin's sign-in); a silo has no users to ask.
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await client.GetAsync(new Uri("/dashboard/", UriKind.Relative))).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await client.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);
        Assert.Equal("{\"status\":\"Healthy\"}", await client.GetStringAsync(new Uri("/readyz", UriKind.Relative)));
        using var scrape = new HttpRequestMessage(HttpMethod.Get, new Uri("/metrics", UriKind.Relative));
        scrape.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", GatewayProcess.ScrapeToken);
        var metrics = await (await client.SendAsync(scrape)).Content.ReadAsStringAsync();
        Assert.Contains("orleans_", metrics, StringComparison.Ordinal);

        Assert.Equal(0, await silo.StopAsync(Patience));
        Assert.Equal(1, await database.CountAsync(
            $"SELECT count(*) FROM orleans.membership WHERE deployment_id = 'standalone-test' AND port = {siloPort} AND status = 6"));
    }

    [Fact]
    public async Task MigrateBringsTheSchemaUpToDateOnceAndExits()
    {
        // What the Helm chart's pre-install and pre-upgrade Job runs: no cluster joined, nothing listened on.
        await using var database = await TestDatabase.CreateAsync("migrate-only");
        var environment = new Dictionary<string, string> { ["Alto__Database__ConnectionString"] = database.ConnectionString };

        await using (var first = StartSilo(environment, "migrate"))
        {
            Assert.Equal(0, await first.WaitForExitAsync(Patience));
            Assert.Contains("Database schema migrated from version 0 to", first.Output, StringComparison.Ordinal);
        }
        var version = await database.ScalarAsync<int>("SELECT max(version) FROM public.alto_schema_version");
        Assert.True(version > 20, $"schema version {version}");
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM orleans.membership"));
        await using (var again = StartSilo(environment, "migrate"))
        {
            Assert.Equal(0, await again.WaitForExitAsync(Patience));
            Assert.Contains($"from version {version} to {version}: nothing to apply", again.Output, StringComparison.Ordinal);
        }

        // A mistyped database setting would migrate the default database instead: refused before any database is reached.
        await using (var mistyped = StartSilo(new() { ["Alto__Databse__ConnectionString"] = database.ConnectionString }, "migrate"))
        {
            Assert.Equal(2, await mistyped.WaitForExitAsync(Patience));
            AssertOneCriticalLine(mistyped.Output, "unknown setting Alto:Databse:ConnectionString", "did you mean Alto:Database:ConnectionString?");
        }

        await database.ExecuteAsync("INSERT INTO public.alto_schema_version (version, name, checksum) VALUES (9999, 'future', 'x')");
        await using var newer = StartSilo(environment, "migrate");
        Assert.Equal(4, await newer.WaitForExitAsync(Patience));
        AssertOneCriticalLine(newer.Output, "Refusing to start", "version 9999");
        await using var unreachable = StartSilo(new() { ["Alto__Database__ConnectionString"] = $"Host=127.0.0.1;Port={FreePorts.Next()};Database=alto;Username=postgres" }, "migrate");
        Assert.Equal(3, await unreachable.WaitForExitAsync(Patience));
    }

    private static ProgramRun StartSilo(Dictionary<string, string> environment, params string[] arguments) =>
        ProgramRun.Start(RepositoryPaths.ProgramDll("silo/Alto.Silo", "Alto.Silo"), environment, arguments);

    private static void AssertOneCriticalLine(string output, params string[] expected)
    {
        var critical = output.Split('\n').Where(line => line.Contains("crit:", StringComparison.Ordinal)).ToList();
        Assert.True(critical.Count == 1, "expected one critical line, got:\n" + output);
        foreach (var text in expected)
        {
            Assert.Contains(text, critical[0], StringComparison.Ordinal);
        }
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }
}
