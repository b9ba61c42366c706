using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tenants;
using Alto.Keys;

namespace Alto.Grains.Tests;

[Collection(PostgresClusterCollection.Name)]
public sealed class EnrollmentTests(PostgresClusterFixture fixture)
{
    [Fact]
    public async Task ATokenIsSpentOnceItsCredentialIsUsedAndTheCredentialHoldsOnlyForItsHost()
    {
        var (host, token) = await RegisterAsync(TimeSpan.FromHours(1));

        var enrolled = await host.EnrollAsync(new EnrollHost(token, "1.2.3", "fs01"));
        Assert.True(enrolled.Succeeded, enrolled.Error?.Message);
        var credential = enrolled.Value!.Credential;
        Assert.StartsWith(EnrollmentTokens.CredentialPrefix, credential, StringComparison.Ordinal);
        Assert.Equal(HostStatus.Enrolled, (await host.GetAsync())!.Status);
        Assert.True((await host.GetAsync())!.CredentialUnconfirmed);

        // The first use of the credential completes the enrollment and spends the token.
        Assert.Equal(host.GetPrimaryKeyString(), (await host.AuthenticateAsync(credential))?.HostId.ToString());
        Assert.False((await host.GetAsync())!.CredentialUnconfirmed);
        var again = await host.EnrollAsync(new EnrollHost(token, "1.2.3", "fs01"));
        Assert.Equal(CommandErrorKind.Conflict, again.Error?.Kind);
        Assert.Contains("already used", again.Error!.Message, StringComparison.Ordinal);

        var (otherHost, _) = await RegisterAsync(TimeSpan.FromHours(1));
        Assert.Null(await otherHost.AuthenticateAsync(credential));
        Assert.Null(await host.AuthenticateAsync(credential + "x"));
    }

    [Fact]
    public async Task AWrongOrExpiredTokenIsRefused()
    {
        var (host, token) = await RegisterAsync(TimeSpan.FromHours(1));
        var wrong = await host.EnrollAsync(new EnrollHost(token[..^4] + "AAAA", "1", "x"));
        Assert.Equal(CommandErrorKind.NotFound, wrong.Error?.Kind);

        var (shortLived, shortToken) = await RegisterAsync(TimeSpan.FromMilliseconds(1));
        await Task.Delay(20);
        var expired = await shortLived.EnrollAsync(new EnrollHost(shortToken, "1", "x"));
        Assert.Equal(CommandErrorKind.Conflict, expired.Error?.Kind);
        Assert.Contains("expired", expired.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RenewingTheTokenRetiresTheOldOneAndReEnrollingReplacesTheCredential()
    {
        var (host, first) = await RegisterAsync(TimeSpan.FromHours(1));
        var firstCredential = (await host.EnrollAsync(new EnrollHost(first, "1", "x"))).Value!.Credential;

        var renewed = await host.RenewEnrollmentTokenAsync(TimeSpan.FromHours(1));
        var second = renewed.Value!.EnrollmentToken;
        Assert.NotEqual(first, second);
        var secondCredential = (await host.EnrollAsync(new EnrollHost(second, "2", "x"))).Value!.Credential;

        Assert.Null(await host.AuthenticateAsync(firstCredential));
        Assert.NotNull(await host.AuthenticateAsync(secondCredential));
    }

    private async Task<(IHostGrain Host, string Token)> RegisterAsync(TimeSpan lifetime)
    {
        var tenantId = Guid.NewGuid();
        await fixture.Client.GetGrain<ITenantGrain>(tenantId.ToString()).CreateAsync(new CreateTenant($"enroll-{tenantId:N}", ""));
        var host = fixture.Client.GetGrain<IHostGrain>(Guid.NewGuid().ToString());
        var registered = await host.RegisterAsync(new RegisterHost(tenantId, "fs01", HostOs.Linux, [], lifetime));
        Assert.True(registered.Succeeded, registered.Error?.Message);
        return (host, registered.Value!.EnrollmentToken);
    }
}
