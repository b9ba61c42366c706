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

    [Fact]
    public async Task ATokenWhoseCredentialWasNeverUsedMayBeRedeemedAgainAndOnlyTheNewCredentialHolds()
    {
        var token = await RegisterHostAsync();
        using var http = new HttpClient();
        var client = new EnrollmentClient(http);

        // The first credential never reached the disk (the agent could not store it); the same token is redeemed again.
        var lost = await client.EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl, token, CancellationToken.None);
        var kept = await client.EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl, token, CancellationToken.None);

        Assert.Equal(lost.HostId, kept.HostId);
        await Assert.ThrowsAsync<EnrollmentException>(() => client.ConfirmAsync(lost, CancellationToken.None));
        await client.ConfirmAsync(kept, CancellationToken.None);
        var again = await Assert.ThrowsAsync<EnrollmentException>(() => client.EnrollAsync(_gateway.HttpUrl, _gateway.GrpcUrl, token, CancellationToken.None));
        Assert.Contains("already used", again.Message, StringComparison.Ordinal);
        Assert.Equal(2, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE host_id = '{kept.HostId}' AND action = 'host.credential_issued'"));
        Assert.Equal(1, await _gateway.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE host_id = '{kept.HostId}' AND action = 'host.enrolled'"));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task AUserWhoCannotWriteTheStateFolderIsToldSoBeforeTheTokenIsSpent()
    {
        var token = await RegisterHostAsync();
        var agent = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
        // Root's own folder (0700): the user nobody may not write there, as an admin who forgot sudo may not write /var/lib.
        File.SetUnixFileMode(_stateDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var state = Path.Combine(_stateDirectory, "state");

        var refused = await Stubs.StubFiles.ShellAsync(
            $"cd /tmp && runuser -u nobody -- env HOME=/tmp DOTNET_NOLOGO=1 dotnet '{agent}' enroll --gateway {_gateway.HttpUrl} --grpc {_gateway.GrpcUrl} --token {token} --state-dir '{state}'; echo \"exit=$?\"");

        Assert.Contains("exit=3", refused.Output, StringComparison.Ordinal);
        Assert.Contains($"cannot write the state folder {state}", refused.Output, StringComparison.Ordinal);
        Assert.Contains("the token was not used", refused.Output, StringComparison.Ordinal);
        // As root, the same token works, and status talks to the gateway enrolled with (not the default address).
        await using (var enroll = ProgramRun.Start(agent, new Dictionary<string, string>(), "enroll", "--gateway", _gateway.HttpUrl.ToString(),
                         "--grpc", _gateway.GrpcUrl.ToString(), "--token", token, "--state-dir", state))
        {
            Assert.True(0 == await enroll.WaitForExitAsync(TimeSpan.FromSeconds(60)), enroll.Output);
        }
        await using var status = ProgramRun.Start(agent, new Dictionary<string, string>(), "status", "--state-dir", state);
        Assert.True(0 == await status.WaitForExitAsync(TimeSpan.FromSeconds(60)), status.Output);
        Assert.Contains($"gateway:        {_gateway.HttpUrl} (HTTP), {_gateway.GrpcUrl} (gRPC) as enrolled", status.Output, StringComparison.Ordinal);
        Assert.Contains("cluster ready:  yes", status.Output, StringComparison.Ordinal);
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
