using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Alto.TestSupport;
using Microsoft.AspNetCore.SignalR.Client;

namespace Alto.Gateway.Tests;

/// <summary>
/// The live hub across a real cluster: two gateway processes (each co-hosting a silo) on one
/// database, real .NET SignalR clients connected to gateway B, and everything caused through
/// gateway A. A tenant admin sees its tenant's audit entries; a viewer sees its tenant's scans
/// but never an admin-only event, and nobody sees another tenant's.
/// </summary>
public sealed class LiveEventsProcessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private const string Header = "file_path,file_size,last_modified,last_accessed,file_extension,permissions,owner,hash,ctime,file_id,is_stub,path_encoding\r\n";

    private sealed record Received(string Kind, Guid TenantId, JsonElement Data);

    [Fact]
    public async Task AConsoleOnGatewayBSeesItsTenantsEventsCausedThroughGatewayAAndNothingAboveItsRole()
    {
        // Declared first so it is dropped last, after both gateways stopped.
        await using var database = await TestDatabase.CreateAsync("live");
        await database.MigrateAsync();
        const string cluster = "live";
        await using var a = await GatewayProcess.StartAsync(database, cluster, new Dictionary<string, string>(), Patience);
        await using var b = await GatewayProcess.StartAsync(database, cluster, new Dictionary<string, string>(), Patience);

        using var admin = await SignInAsync(a, "admin", GatewayProcess.AdminPassword);
        var own = await CreatedIdAsync(admin, "/api/v1/tenants", new { name = "live-own" });
        var other = await CreatedIdAsync(admin, "/api/v1/tenants", new { name = "live-other" });
        const string password = "Live-console-pass-7719!";
        await CreatedIdAsync(admin, "/api/v1/users", new { username = "live-viewer", password, role = "viewer", tenantIds = new[] { own } });
        await CreatedIdAsync(admin, "/api/v1/users", new { username = "live-admin", password, role = "tenant-admin", tenantIds = new[] { own } });
        using var viewerApi = await SignInAsync(a, "live-viewer", password);
        using var adminApi = await SignInAsync(a, "live-admin", password);

        // Nobody without a token gets a connection.
        await using (var anonymous = new HubConnectionBuilder().WithUrl(new Uri(b.HttpUrl, "/hubs/live")).Build())
        {
            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.StartAsync());
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        var (viewer, viewerEvents) = await ConnectAsync(b, Token(viewerApi));
        var (tenantAdmin, adminEvents) = await ConnectAsync(b, Token(adminApi));
        await using (viewer)
        await using (tenantAdmin)
        {
            // The relay on B subscribes as it starts: change the tenant until its admin hears of it.
            var deadline = DateTime.UtcNow + Patience;
            for (var i = 0; !adminEvents.Any(e => e.Kind == "audit" && e.TenantId == own); i++)
            {
                Assert.True(DateTime.UtcNow < deadline, "no audit event reached gateway B's hub");
                (await adminApi.PatchAsJsonAsync($"/api/v1/tenants/{own}", new { description = $"warming {i}" })).EnsureSuccessStatusCode();
                await Task.Delay(500);
            }

            // Through gateway A: a host in each tenant registered, enrolled and scanned.
            var ownHost = await ScannedHostAsync(a, admin, own, "own-fs");
            await ScannedHostAsync(a, admin, other, "other-fs");

            await WaitForAsync(() => viewerEvents.Any(e => e.Kind == "scan.completed" && e.TenantId == own
                && e.Data.GetProperty("hostId").GetGuid() == ownHost && e.Data.GetProperty("filesSeen").GetInt64() == 3), "the viewer's scan.completed");
            await WaitForAsync(() => adminEvents.Any(e => e.Kind == "audit" && e.TenantId == own && e.Data.GetProperty("action").GetString() == "host.registered"),
                "the admin's audit entry of the host's registration");
            Assert.Contains(viewerEvents, e => e.Kind == "scan.progress" && e.TenantId == own && e.Data.GetProperty("final").GetBoolean());
            Assert.Contains(adminEvents, e => e.Kind == "scan.completed" && e.TenantId == own);
            // The other tenant's scan has been merged by now, and its events delivered wherever they went.
            await Eventually.WaitAsync(async () => await database.CountAsync($"SELECT count(*) FROM alto.scan WHERE tenant_id = '{other}' AND status = 'completed'") == 1,
                "the other tenant's scan", Patience, TimeSpan.FromMilliseconds(200));
            await Task.Delay(TimeSpan.FromSeconds(2));

            Assert.DoesNotContain(viewerEvents, e => e.TenantId != own);
            Assert.DoesNotContain(adminEvents, e => e.TenantId != own);
            Assert.DoesNotContain(viewerEvents, e => e.Kind == "audit");
        }
    }

    private static async Task<(HubConnection Connection, ConcurrentQueue<Received> Events)> ConnectAsync(GatewayProcess gateway, string token)
    {
        var events = new ConcurrentQueue<Received>();
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(gateway.HttpUrl, "/hubs/live"), options => options.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        connection.On<JsonElement>("event", message => events.Enqueue(new Received(
            message.GetProperty("kind").GetString()!, message.GetProperty("tenantId").GetGuid(), message.GetProperty("data").Clone())));
        await connection.StartAsync();
        return (connection, events);
    }

    /// <summary>Registers a Linux host with volume /srv, enrolls it, and uploads a whole scan of three files as its agent.</summary>
    private static async Task<Guid> ScannedHostAsync(GatewayProcess gateway, HttpClient admin, Guid tenantId, string name)
    {
        var registered = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/hosts", new { name, os = "linux", volumes = new[] { "/srv" } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        using var agent = new HttpClient { BaseAddress = gateway.HttpUrl };
        var enrolled = await (await agent.PostAsJsonAsync("/api/v1/agents/enroll", new { token = registered.GetProperty("enrollmentToken").GetString() }))
            .AssertJsonAsync(HttpStatusCode.OK);
        agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", enrolled.GetProperty("credential").GetString());
        var csv = new StringBuilder(Header);
        for (var i = 0; i < 3; i++)
        {
            csv.Append($"/srv/f{i}.bin,{1000 * (i + 1)},2024-01-02T03:04:05Z,2024-01-02T03:04:05Z,.bin,rw-r--r--,alice,,,{i + 1},false,utf8\r\n");
        }
        using var content = new StringContent(csv.ToString(), Encoding.UTF8, "text/csv");
        (await agent.PostAsync(new Uri($"/api/v1/scan-results?scanId={Guid.NewGuid()}&chunk=0&final=true&format=csv&encoding=none&root=%2Fsrv", UriKind.Relative), content))
            .EnsureSuccessStatusCode();
        return enrolled.GetProperty("hostId").GetGuid();
    }

    private static async Task<HttpClient> SignInAsync(GatewayProcess gateway, string username, string password)
    {
        var client = new HttpClient { BaseAddress = gateway.HttpUrl };
        var login = await (await client.PostAsJsonAsync("/api/v1/auth/login", new { username, password })).AssertJsonAsync(HttpStatusCode.OK);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.GetProperty("accessToken").GetString());
        return client;
    }

    private static string Token(HttpClient client) => client.DefaultRequestHeaders.Authorization!.Parameter!;

    private static async Task<Guid> CreatedIdAsync(HttpClient admin, string path, object body) =>
        (await (await admin.PostAsJsonAsync(path, body)).AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();

    private static Task WaitForAsync(Func<bool> condition, string what) =>
        Eventually.WaitAsync(() => Task.FromResult(condition()), what, Patience, TimeSpan.FromMilliseconds(200));
}
