using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Alto.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Alto.Gateway.Tests;

/// <summary>
/// The real gateway (with its co-hosted silo) on a fresh PostgreSQL database, which it migrates
/// itself at start. Two tenants and one user per role in tenant A are created up front.
/// </summary>
public sealed class GatewayFixture : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string AdminPassword = "correct-horse-battery-staple";
    public const string UserPassword = "user-password-0123";

    private TestDatabase? _database;

    public TestDatabase Database => _database ?? throw new InvalidOperationException("not initialized");

    public Guid TenantA { get; private set; }

    public Guid TenantB { get; private set; }

    /// <summary>Bearer tokens by role: platform-admin, and the others scoped to tenant A.</summary>
    public Dictionary<string, string> Tokens { get; } = [];

    /// <summary>The clock sign-in lockouts run on: a test moves it past a lockout instead of waiting.</summary>
    public MovableClock SignInClock { get; } = new();

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync("gateway");
        Tokens["platform-admin"] = await LoginAsync("admin", AdminPassword);
        using var admin = ClientFor("platform-admin");
        TenantA = await CreateTenantAsync(admin, "tenant-a-" + Guid.NewGuid().ToString("N")[..8]);
        TenantB = await CreateTenantAsync(admin, "tenant-b-" + Guid.NewGuid().ToString("N")[..8]);
        foreach (var role in new[] { "tenant-admin", "support", "viewer" })
        {
            var username = $"{role}-{Guid.NewGuid():N}"[..30];
            var created = await admin.PostAsJsonAsync("/api/v1/users",
                new { username, password = UserPassword, role, tenantIds = new[] { TenantA } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Tokens[role] = await LoginAsync(username, UserPassword);
        }
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    /// <summary>
    /// Registers a host in <paramref name="tenantId"/> (<paramref name="host"/> is the registration's
    /// body) and enrolls it with the token it was given, as its agent would.
    /// </summary>
    public async Task<EnrolledHost> EnrollHostAsync(Guid tenantId, object host)
    {
        using var admin = ClientFor("platform-admin");
        var registered = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/hosts", host)).AssertJsonAsync(HttpStatusCode.Created);
        using var anonymous = CreateClient();
        var enrolled = await (await anonymous.PostAsJsonAsync("/api/v1/agents/enroll", new { token = registered.GetProperty("enrollmentToken").GetString() }))
            .AssertJsonAsync(HttpStatusCode.OK);
        return new EnrolledHost(tenantId, enrolled.GetProperty("hostId").GetGuid(), enrolled.GetProperty("credential").GetString()!);
    }

    /// <summary>A client that calls as <paramref name="host"/>'s agent, with its credential.</summary>
    public HttpClient AgentClient(EnrolledHost host)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.Credential);
        return client;
    }

    public HttpClient ClientFor(string? role)
    {
        var client = CreateClient();
        if (role is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Tokens[role]);
        }
        return client;
    }

    public async Task<string> LoginAsync(string username, string password)
    {
        using var client = CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/login", new { username, password });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("accessToken").GetString()!;
    }

    /// <summary>
    /// A tenant as a new admin gets it (manual plan approval, 64 KiB minimum), or with
    /// <paramref name="tierAtOnce"/> one whose plans go out at once and take files of any size, for
    /// tests about what happens after planning.
    /// </summary>
    public static async Task<Guid> CreateTenantAsync(HttpClient admin, string name, bool tierAtOnce = false)
    {
        var response = await admin.PostAsJsonAsync("/api/v1/tenants", new { name, description = "test tenant" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        if (tierAtOnce)
        {
            (await admin.PatchAsJsonAsync($"/api/v1/tenants/{id}", new { planApproval = "auto", minTierableBytes = 0 })).EnsureSuccessStatusCode();
        }
        return id;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        UseTestSettings(builder, Database);
        // The in-memory test server has no client address; Kestrel on loopback would give this one.
        builder.ConfigureServices(services => services.AddSingleton<IStartupFilter, LoopbackClientAddress>());
        // Tests sign in often from one address; the limit itself is tested with its own gateway.
        builder.UseSetting("Alto:Auth:LoginAttemptsPerMinute", "10000");
        // Sign-in lockouts (15 minutes by default) run on a clock the lockout tests move forward.
        builder.ConfigureServices(services => services.AddSingleton(provider => new Alto.Gateway.Auth.UserStore(provider.GetRequiredService<Npgsql.NpgsqlDataSource>(), SignInClock)));
        // Small upload limits, so oversize bodies and compression bombs stay cheap to test.
        builder.UseSetting("Alto:ScanUpload:MaxBodyBytes", (4 << 20).ToString(CultureInfo.InvariantCulture));
        builder.UseSetting("Alto:ScanUpload:MaxDecompressedBytes", (8 << 20).ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Settings for an in-process gateway: its own database, free silo ports, a known admin password.</summary>
    public static void UseTestSettings(IWebHostBuilder builder, TestDatabase database)
    {
        var port = (int value) => value.ToString(CultureInfo.InvariantCulture);
        builder.UseSetting("Alto:Database:ConnectionString", database.ConnectionString);
        builder.UseSetting("Alto:Keys:MasterKeyFile", database.MasterKeyFile);
        builder.UseSetting("Alto:Cluster:ClusterId", "gateway-test-" + Guid.NewGuid().ToString("N")[..8]);
        builder.UseSetting("Alto:Cluster:SiloPort", port(FreePorts.Next()));
        builder.UseSetting("Alto:Cluster:GatewayPort", port(FreePorts.Next()));
        builder.UseSetting("Alto:Auth:BootstrapAdminPassword", AdminPassword);
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
    }
}

/// <summary>
/// The in-memory test server's requests come from loopback, or from the address a test names in
/// <see cref="Header"/> (this test host's stand-in for a client elsewhere; no production code reads it).
/// </summary>
internal sealed class LoopbackClientAddress : IStartupFilter
{
    public const string Header = "X-Test-Client-Address";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, following) =>
        {
            context.Connection.RemoteIpAddress = System.Net.IPAddress.TryParse(context.Request.Headers[Header].ToString(), out var named)
                ? named
                : context.Connection.RemoteIpAddress ?? System.Net.IPAddress.Loopback;
            return following(context);
        });
        next(app);
    };
}

/// <summary>A host enrolled by a test: its tenant, its id and its agent's credential.</summary>
public sealed record EnrolledHost(Guid TenantId, Guid HostId, string Credential);

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
