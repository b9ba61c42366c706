using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Alto.Agent.Enrollment;
using Alto.TestSupport;

namespace Alto.Agent.Tests;

/// <summary>Enrollment over real HTTP against a real gateway process.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class EnrollCommandTests(RunningGateway running) : IClassFixture<RunningGateway>, IDisposable
{
    private readonly GatewayProcess _gateway = running.Gateway;
    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("alto-agent-").FullName;

    public void Dispose() => Directory.Delete(_stateDirectory, recursive: true);

    [Fact]
    public async Task EnrollmentStoresTheCredentialReadableOnlyByTheAgent()
    {
        var token = await RegisterHostAsync();
        using var http = new HttpClient();

        var credentials = await new EnrollmentClient(http).EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl, token, CancellationToken.None);
        await credentials.SaveAsync(_stateDirectory, CancellationToken.None);

        var path = AgentCredentials.PathIn(_stateDirectory);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var loaded = await AgentCredentials.LoadAsync(_stateDirectory, CancellationToken.None);
        Assert.Equal(credentials, loaded);
        Assert.DoesNotContain(token, await File.ReadAllTextAsync(path), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AUsedTokenIsRefusedWithAClearMessage()
    {
        var token = await RegisterHostAsync();
        using var http = new HttpClient();
        var client = new EnrollmentClient(http);
        await client.ConfirmAsync(await client.EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl, token, CancellationToken.None), CancellationToken.None);

        var error = await Assert.ThrowsAsync<EnrollmentException>(() =>
            client.EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl, token, CancellationToken.None));
        Assert.Contains("already used", error.Message, StringComparison.Ordinal);
        Assert.Contains("401", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AGarbageTokenIsRefused()
    {
        using var http = new HttpClient();
        var error = await Assert.ThrowsAsync<EnrollmentException>(() =>
            new EnrollmentClient(http).EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl, "alto_enroll_nonsense", CancellationToken.None));
        Assert.Contains("not valid", error.Message, StringComparison.Ordinal);
    }

    private async Task<string> RegisterHostAsync()
    {
        using var admin = new HttpClient { BaseAddress = _gateway.HttpUrl };
        var login = await admin.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = GatewayProcess.AdminPassword });
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Bearer", (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString());
        var tenant = await admin.PostAsJsonAsync("/api/v1/tenants", new { name = "agents-" + Guid.NewGuid().ToString("N")[..8] });
        var tenantId = (await tenant.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var host = await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/hosts", new { name = "fs-" + Guid.NewGuid().ToString("N")[..8] });
        return (await host.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("enrollmentToken").GetString()!;
    }
}
