using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
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

    /// <summary>A host with <paramref name="files"/> files stubbed on the tenant's path target (as the agent would have reported them), with their locators in path order.</summary>
    public static async Task<(PlannedHost Host, Guid TargetId, string[] Locators)> StubbedAsync(GatewayFixture fixture, int files = 4, bool windows = false)
    {
        var paths = Enumerable.Range(0, files).Select(i => (windows ? $@"C:\Data\f{i:D2}.bin" : $"/lucid/f{i:D2}.bin", 90L * 86_400)).ToArray();
        var host = windows ? await CreateAsync(fixture, "windows", @"C:\Data", paths) : await CreateAsync(fixture, paths);
        var targetId = await fixture.Database.ScalarAsync<Guid>($"SELECT id FROM alto.storage_target WHERE tenant_id = '{host.TenantId}'");
        var ids = new List<long>();
        await using (var read = fixture.Database.DataSource.CreateCommand($"SELECT id FROM alto.tier_object WHERE host_id = '{host.HostId}' ORDER BY full_path"))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                ids.Add(reader.GetInt64(0));
            }
        }
        Assert.Equal(files, ids.Count);
        var locators = ids.Select(id => Locator(host.TenantId, $"content of {id}")).ToArray();
        for (var i = 0; i < ids.Count; i++)
        {
            await fixture.Database.ExecuteAsync($"""
                UPDATE alto.tier_object SET state = 'STUBBED', hash = right('{locators[i]}', 64), locator = '{locators[i]}', size_bytes = 1000,
                       acted_utc = now() - interval '1 hour' WHERE id = {ids[i]}
                """);
        }
        return (host, targetId, locators);
    }

    /// <summary>The locator a content's copy has on a tenant's target: the tenant, two levels of fan-out and the content's SHA-256.</summary>
    public static string Locator(Guid tenantId, string content)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));
        return $"{tenantId:N}/{sha[..2]}/{sha[2..4]}/{sha}";
    }

    /// <summary>A client that calls as this host's agent (its credential).</summary>
    public HttpClient AgentClient(GatewayFixture fixture)
    {
        var agent = fixture.ClientFor(null);
        agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Credential);
        return agent;
    }
}
