using System.Net;
using System.Net.Http.Json;
using Alto.TestSupport;

namespace Alto.Gateway.Tests;

/// <summary>
/// The server-side way back in when every admin is locked out: the real gateway program's
/// break-glass command, run beside a running gateway on the same database.
/// </summary>
public sealed class BreakGlassProcessTests
{
    [Fact]
    public async Task BreakGlassUnlocksTheAdminSetsANewPasswordEndsItsSessionsAndIsAudited()
    {
        await using var gateway = await GatewayProcess.StartAsync("break-glass", TimeSpan.FromSeconds(90));
        using var admin = await AdminApi.SignInAsync(gateway.HttpUrl, GatewayProcess.AdminPassword);
        using var http = new HttpClient { BaseAddress = gateway.HttpUrl };
        for (var i = 0; i < 5; i++)
        {
            await http.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = "guess-" + i });
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = GatewayProcess.AdminPassword })).StatusCode);

        // All of it with its audit entry, or none of it: while the log refuses the entry, nothing changes and no password is made.
        var hash = await gateway.Database.ScalarAsync<string>("SELECT password_hash FROM alto.app_user WHERE username = 'admin'");
        await using (await AuditLogRefusal.StartAsync(gateway.Database, "NEW.action = 'auth.break_glass'"))
        {
            await using var refused = ProgramRun.Start(RepositoryPaths.ProgramDll("gateway-api/Alto.Gateway", "Alto.Gateway"), new Dictionary<string, string>
            {
                ["Alto__Database__ConnectionString"] = gateway.Database.ConnectionString,
            }, "break-glass", "--user", "admin", "--new-password");
            Assert.True(3 == await refused.WaitForExitAsync(TimeSpan.FromSeconds(60)), refused.Output);
            Assert.DoesNotContain("shown only now", refused.Output, StringComparison.Ordinal);
        }
        Assert.Equal(hash, await gateway.Database.ScalarAsync<string>("SELECT password_hash FROM alto.app_user WHERE username = 'admin'"));

        await using var command = ProgramRun.Start(RepositoryPaths.ProgramDll("gateway-api/Alto.Gateway", "Alto.Gateway"), new Dictionary<string, string>
        {
            ["Alto__Database__ConnectionString"] = gateway.Database.ConnectionString,
        }, "break-glass", "--user", "admin", "--new-password");
        Assert.True(0 == await command.WaitForExitAsync(TimeSpan.FromSeconds(60)), command.Output);

        var password = command.Output.Split("shown only now; every session of the user has ended): ")[1].Trim().Split('\n')[0].Trim();
        Assert.Contains("1 address(es) were locked", command.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = GatewayProcess.AdminPassword })).StatusCode);
        // The session from before is over.
        using var before = new HttpRequestMessage(HttpMethod.Get, "/api/v1/tenants");
        before.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", admin.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(before)).StatusCode);
        Assert.Equal(1, await gateway.Database.CountAsync("SELECT count(*) FROM alto.audit_log WHERE action = 'auth.break_glass' AND actor LIKE 'server:%' AND tenant_id IS NULL"));

        await using var unknown = ProgramRun.Start(RepositoryPaths.ProgramDll("gateway-api/Alto.Gateway", "Alto.Gateway"), new Dictionary<string, string>
        {
            ["Alto__Database__ConnectionString"] = gateway.Database.ConnectionString,
        }, "break-glass", "--user", "nobody-here");
        Assert.Equal(2, await unknown.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("there is no user 'nobody-here'", unknown.Output, StringComparison.Ordinal);

        // A mistyped database setting would have unlocked the user in the default database instead: refused before any is reached.
        await using var mistyped = ProgramRun.Start(RepositoryPaths.ProgramDll("gateway-api/Alto.Gateway", "Alto.Gateway"), new Dictionary<string, string>
        {
            ["Alto__Databse__ConnectionString"] = gateway.Database.ConnectionString,
        }, "break-glass", "--user", "admin");
        Assert.Equal(2, await mistyped.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("unknown setting Alto:Databse:ConnectionString (not read by any part of Alto; did you mean Alto:Database:ConnectionString?)", mistyped.Output, StringComparison.Ordinal);
        Assert.Equal(1, await gateway.Database.CountAsync("SELECT count(*) FROM alto.audit_log WHERE action = 'auth.break_glass'"));

        // A setting naming another database of the same server (one without Alto) is said as such, not as one that cannot be reached.
        var elsewhere = new Npgsql.NpgsqlConnectionStringBuilder(gateway.Database.ConnectionString) { Database = "postgres" }.ConnectionString;
        await using var noAlto = ProgramRun.Start(RepositoryPaths.ProgramDll("gateway-api/Alto.Gateway", "Alto.Gateway"), new Dictionary<string, string>
        {
            ["Alto__Database__ConnectionString"] = elsewhere,
        }, "break-glass", "--user", "admin");
        Assert.True(3 == await noAlto.WaitForExitAsync(TimeSpan.FromSeconds(60)), noAlto.Output);
        Assert.Contains("the database the settings name holds no Alto installation", noAlto.Output, StringComparison.Ordinal);
    }
}
