using Alto.TestSupport;

namespace Alto.Gateway.Tests;

/// <summary>The gateway program itself refuses to start on bad settings, with one clear line.</summary>
public sealed class GatewayProcessTests
{
    [Theory]
    [InlineData("Alto__Gateway__GrpcUrl", "http://127.0.0.1:8080", 2, "must use different ports")]
    [InlineData("Alto__Auth__TokenLifetime", "30.00:00:00", 2, "TokenLifetime")]
    [InlineData("Alto__Tiering__Retry__RefusedPause", "00:00:10", 2, "The field RefusedPause must be between 00:01:00 and 365.00:00:00")]
    [InlineData("Alto__Database__ConnectionString", "Host=127.0.0.1;Port=1;Database=x;Username=postgres", 3, "Cannot reach PostgreSQL")]
    // Settings read while the process is built, before validation: each once ended in a stack trace (exit 134).
    [InlineData("Alto__Cluster__Tls", "yes", 2, "'Alto:Cluster:Tls'")]
    [InlineData("Alto__Gateway__CoHostSilo", "maybe", 2, "'Alto:Gateway:CoHostSilo'")]
    [InlineData("Alto__Gateway__HttpUrl", "garbage", 2, "Alto:Gateway:HttpUrl 'garbage' is not an absolute URL")]
    [InlineData("Alto__Cluster__SiloPort", "abc", 2, "'abc' at 'Alto:Cluster:SiloPort'")]
    [InlineData("Alto__Metrics__Url", "127.0.0.1:9464", 2, "Alto:Metrics:Url '127.0.0.1:9464' is not an absolute URL")]
    // A mistyped setting would leave its default in force unseen.
    [InlineData("Alto__ScanUpload__MaxConcurentUploads", "32", 2, "unknown setting Alto:ScanUpload:MaxConcurentUploads (not read by any part of Alto; did you mean Alto:ScanUpload:MaxConcurrentUploads?)")]
    public async Task ABadSettingOrAnUnreachableDatabaseStopsTheGatewayWithOneClearLine(string setting, string value, int exitCode, string message)
    {
        var environment = new Dictionary<string, string>
        {
            ["Alto__Gateway__HttpUrl"] = "http://127.0.0.1:8080",
            ["Alto__Database__ConnectionString"] = "Host=127.0.0.1;Port=1;Database=x;Username=postgres",
            [setting] = value,
        };
        await using var gateway = ProgramRun.Start(RepositoryPaths.ProgramDll("gateway-api/Alto.Gateway", "Alto.Gateway"), environment);

        Assert.Equal(exitCode, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var critical = gateway.Output.Split('\n').Where(line => line.Contains("crit:", StringComparison.Ordinal)).ToList();
        Assert.True(critical.Count == 1, gateway.Output);
        Assert.Contains(message, critical[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", gateway.Output, StringComparison.Ordinal);
    }
}
