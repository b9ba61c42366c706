using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Npgsql;

namespace Alto.Gateway.Tests;

/// <summary>
/// An enrolled host of a tenant of its own (plans go out at once) whose volume /lucid holds the
/// given files in the inventory, modified 400 days ago and accessed the given seconds ago, all planned.
/// </summary>
public sealed record PlannedHost(Guid TenantId, Guid HostId, string Credential)
{
    public static Task<PlannedHost> CreateAsync(GatewayFixture fixture, params (string Path, long AccessedAgo)[] files) =>
        CreateAsync(fixture, "linux", "/lucid", files);

    /// <summary>The same on a host of the given operating system (its paths spelled its way) with one volume.</summary>
    public static async Task<PlannedHost> CreateAsync(GatewayFixture fixture, string os, string volume, params (string Path, long AccessedAgo)[] files)
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "lucid-" + Guid.NewGuid().ToString("N")[..8], tierAtOnce: true);
        var target = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/targets", new { name = "nas", kind = "path", settings = new { path = $"/mnt/tier2/{tenant:N}" } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules", new { name = "cold", targetId = target.GetProperty("id").GetGuid(), criteria = new { accessedOlderThanDays = 30 } }))
            .EnsureSuccessStatusCode();
        var enrolled = await fixture.EnrollHostAsync(tenant, new { name = "lucid-fs", os, volumes = new[] { volume } });
        var host = new PlannedHost(tenant, enrolled.HostId, enrolled.Credential);

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await using var insert = fixture.Database.DataSource.CreateCommand("""
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT $1, $2, 0, regexp_replace(p, '^.*[/\\]', ''), p, 1000, $3 - a, $3 - 400 * 86400, $3 - 400 * 86400, 'bin', 0, 0, now()
            FROM unnest($4::text[], $5::bigint[]) AS f(p, a)
            """);
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenant });
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = host.HostId });
        insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now });
        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. files.Select(f => f.Path)] });
        insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. files.Select(f => f.AccessedAgo)] });
        await insert.ExecuteNonQueryAsync();
        (await admin.PostAsync(new Uri($"/api/v1/tenants/{tenant}/hosts/{host.HostId}/plan?dryRun=false", UriKind.Relative), null)).EnsureSuccessStatusCode();
        return host;
    }

    /// <summary>A client that calls as this host's agent (its credential).</summary>
    public HttpClient AgentClient(GatewayFixture fixture)
    {
        var agent = fixture.ClientFor(null);
        agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Credential);
        return agent;
    }
}
