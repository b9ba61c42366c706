using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Alto.Gateway.ReadModels;

namespace Alto.Gateway.Tests;

/// <summary>
/// Capacity analytics against direct SQL over the inventory, on an inventory that arrives the real
/// way (scan chunks through /scan-results, ingested by the cluster), then changes by a rescan and
/// an access update; and the tenant and host checks of every new endpoint.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class AnalyticsApiTests(GatewayFixture fixture)
{
    private const string Header = "file_path,file_size,last_modified,last_accessed,file_extension,permissions,owner,hash,ctime,file_id,is_stub,path_encoding\r\n";

    private static readonly string[] Extensions = [".pdf", ".JPG", ".mp4", ".log", "", ".xlsx", ".weird"];

    private static readonly string[] Owners = ["alice", "bob", "", "DOMAIN\\carol"];

    /// <summary>Days since last access, one per bucket and its edges, and a clock ahead of ours.</summary>
    private static readonly int[] AccessedDaysAgo = [0, 5, 30, 31, 89, 120, 180, 300, 365, 366, 700, 731, 2000, -3];

    private static readonly long[] Sizes = [0, 100, 4095, 4096, 70_000, 2_000_000, 20_000_000, 300_000_000];

    private sealed record FileRow(string Path, long Size, int AccessedDaysAgo, int ModifiedDaysAgo, string Extension, string Owner, bool Stub);

    /// <summary>A generated tree under /srv: three projects, each with nested folders, every kind of file spread over them.</summary>
    private static List<FileRow> Inventory(int count, int seed) => [.. Enumerable.Range(0, count).Select(i =>
    {
        var n = i + seed;
        var folder = $"/srv/proj{n % 3}" + (n % 4 == 0 ? "" : $"/sub{n % 2}") + (n % 5 == 0 ? "/deep" : "");
        var extension = Extensions[n % Extensions.Length];
        return new FileRow($"{folder}/file{i}{extension}", Sizes[n % Sizes.Length], AccessedDaysAgo[n % AccessedDaysAgo.Length],
            AccessedDaysAgo[(n / 3) % AccessedDaysAgo.Length] + 1, extension, Owners[n % Owners.Length], Stub: n % 6 == 0);
    })];

    private static string Csv(IEnumerable<FileRow> files)
    {
        var now = DateTimeOffset.UtcNow;
        var text = new StringBuilder(Header);
        var id = 0;
        foreach (var file in files)
        {
            text.Append(CultureInfo.InvariantCulture, $"{file.Path},{file.Size},{now.AddDays(-file.ModifiedDaysAgo):yyyy-MM-ddTHH:mm:ssZ},{now.AddDays(-file.AccessedDaysAgo):yyyy-MM-ddTHH:mm:ssZ},")
                .Append(CultureInfo.InvariantCulture, $"{file.Extension},rw-r--r--,\"{file.Owner}\",,,{++id},{(file.Stub ? "true" : "false")},utf8\r\n");
        }
        return text.ToString();
    }

    private Task<EnrolledHost> EnrollAsync(Guid tenantId) =>
        fixture.EnrollHostAsync(tenantId, new { name = "analytics-" + Guid.NewGuid().ToString("N")[..8], os = "linux", volumes = new[] { "/srv" } });

    /// <summary>A whole scan of /srv in one final chunk, waited for until the cluster has merged it.</summary>
    private async Task ScanAsync(EnrolledHost agent, List<FileRow> files)
    {
        var scans = await fixture.Database.CountAsync($"SELECT count(*) FROM alto.scan WHERE host_id = '{agent.HostId}' AND status = 'completed'");
        using var client = fixture.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/scan-results?scanId={Guid.NewGuid()}&chunk=0&final=true&format=csv&encoding=none&root=%2Fsrv")
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Csv(files))),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", agent.Credential);
        (await client.SendAsync(request)).EnsureSuccessStatusCode();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await fixture.Database.CountAsync($"SELECT count(*) FROM alto.scan WHERE host_id = '{agent.HostId}' AND status = 'completed'") == scans)
        {
            Assert.True(DateTime.UtcNow < deadline, "the scan was not merged within 60 s");
            await Task.Delay(100);
        }
    }

    private Task<long> LiveFilesAsync(EnrolledHost agent) =>
        fixture.Database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{agent.HostId}' AND deleted_utc IS NULL");

    /// <summary>The same figures straight from alto.file_current, bucketed here in SQL of its own.</summary>
    private async Task<Dictionary<string, long[]>> DirectAsync(Guid tenantId, Guid? hostId, string keySql)
    {
        var sums = new Dictionary<string, long[]>(StringComparer.Ordinal);
        await using var command = fixture.Database.DataSource.CreateCommand($"""
            SELECT {keySql} AS k, count(*), sum(size_bytes), count(*) FILTER (WHERE is_stub), coalesce(sum(size_bytes) FILTER (WHERE is_stub), 0)
            FROM alto.file_current
            WHERE tenant_id = '{tenantId}' {(hostId is null ? "" : $"AND host_id = '{hostId}'")} AND deleted_utc IS NULL
            GROUP BY 1
            """);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            sums[reader.GetString(0)] = [reader.GetInt64(1), (long)reader.GetDecimal(2), reader.GetInt64(3), (long)reader.GetDecimal(4)];
        }
        return sums;
    }

    private static string AgeBucket(string column)
    {
        var age = $"greatest(0, (now() AT TIME ZONE 'UTC')::date - (to_timestamp({column}) AT TIME ZONE 'UTC')::date)";
        return $"""
            CASE WHEN {age} <= 30 THEN '0-30d' WHEN {age} <= 90 THEN '30-90d' WHEN {age} <= 180 THEN '90-180d'
                 WHEN {age} <= 365 THEN '180-365d' WHEN {age} <= 730 THEN '1-2y' ELSE '2y+' END
            """;
    }

    private const string SizeBucket = """
        CASE WHEN size_bytes = 0 THEN '0' WHEN size_bytes < 4096 THEN '1' WHEN size_bytes < 65536 THEN '4096' WHEN size_bytes < 1048576 THEN '65536'
             WHEN size_bytes < 16777216 THEN '1048576' WHEN size_bytes < 268435456 THEN '16777216' WHEN size_bytes < 1073741824 THEN '268435456'
             ELSE '1073741824' END
        """;

    private static async Task<JsonElement> ReportAsync(HttpClient client, Guid tenantId, string by, Guid? hostId) =>
        await (await client.GetAsync(new Uri($"/api/v1/tenants/{tenantId}/analytics/capacity?by={by}&limit=1000{(hostId is null ? "" : $"&hostId={hostId}")}", UriKind.Relative)))
            .AssertJsonAsync(HttpStatusCode.OK);

    private static Dictionary<string, long[]> Buckets(JsonElement report) => report.GetProperty("buckets").EnumerateArray()
        .Where(b => b.GetProperty("files").GetInt64() != 0)
        .ToDictionary(b => b.GetProperty("key").GetString()!, b => new[]
        {
            b.GetProperty("files").GetInt64(), b.GetProperty("bytes").GetInt64(), b.GetProperty("tieredFiles").GetInt64(), b.GetProperty("tieredBytes").GetInt64(),
        }, StringComparer.Ordinal);

    /// <summary>Every dimension of the report, tenant-wide and for the host, equals the direct computation.</summary>
    private async Task AssertReportsMatchAsync(EnrolledHost agent)
    {
        using var viewer = fixture.ClientFor("platform-admin");
        foreach (var hostId in new Guid?[] { null, agent.HostId })
        {
            var expected = new Dictionary<string, Dictionary<string, long[]>>
            {
                ["access-age"] = await DirectAsync(agent.TenantId, hostId, AgeBucket("atime_unix")),
                ["modify-age"] = await DirectAsync(agent.TenantId, hostId, AgeBucket("mtime_unix")),
                ["extension"] = await DirectAsync(agent.TenantId, hostId, "lower(file_extension)"),
                ["owner"] = await DirectAsync(agent.TenantId, hostId, "coalesce(owner, '')"),
                ["size"] = await DirectAsync(agent.TenantId, hostId, SizeBucket),
            };
            expected["family"] = expected["extension"].GroupBy(pair => FileFamilies.Of(pair.Key))
                .ToDictionary(group => group.Key, group => Enumerable.Range(0, 4).Select(i => group.Sum(pair => pair.Value[i])).ToArray(), StringComparer.Ordinal);
            foreach (var (by, sums) in expected)
            {
                var report = await ReportAsync(viewer, agent.TenantId, by, hostId);
                Assert.Equal(sums.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={string.Join('/', p.Value)}"),
                    Buckets(report).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={string.Join('/', p.Value)}"));
                Assert.Equal(sums.Values.Sum(v => v[1]) - sums.Values.Sum(v => v[3]), report.GetProperty("localBytes").GetInt64());
            }
        }
    }

    [Fact]
    public async Task EveryCapacityFigureEqualsTheInventoryAfterAScanARescanAndAnAccessUpdate()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenantId = await GatewayFixture.CreateTenantAsync(admin, "analytics-" + Guid.NewGuid().ToString("N")[..8]);
        var agent = await EnrollAsync(tenantId);
        var other = await EnrollAsync(tenantId);
        var files = Inventory(240, seed: 0);
        await ScanAsync(agent, files);
        await ScanAsync(other, Inventory(50, seed: 7));
        Assert.Equal(240, await LiveFilesAsync(agent));
        await AssertReportsMatchAsync(agent);

        // A rescan: a third of the files gone, some grown or turned into stubs, new ones beside them.
        var rescan = files.Where((_, i) => i % 3 != 0).Select((file, i) => i % 4 == 0 ? file with { Size = file.Size + 12_345, Stub = !file.Stub } : file)
            .Concat(Inventory(30, seed: 1000).Select(file => file with { Path = file.Path.Replace("/file", "/new", StringComparison.Ordinal) })).ToList();
        await ScanAsync(agent, rescan);
        Assert.Equal(190, await LiveFilesAsync(agent));
        await AssertReportsMatchAsync(agent);

        // An access from an audit log moves a file between age buckets.
        var old = rescan.First(file => file.AccessedDaysAgo > 700);
        using var client = fixture.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", agent.Credential);
        (await client.PostAsJsonAsync("/api/v1/audit-updates", new
        {
            update_batch_id = Guid.NewGuid(), customer_id = tenantId, volume_id = agent.HostId, source_type = "lucidlink_audit", collected_at = DateTimeOffset.UtcNow,
            updates = new[] { new { file_path = old.Path, last_accessed = DateTimeOffset.UtcNow.AddMinutes(-1), access_type = "read", audit_file = ".lucid_audit/a.active" } },
        })).EnsureSuccessStatusCode();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await fixture.Database.CountAsync($"SELECT count(*) FROM alto.file_current WHERE host_id = '{agent.HostId}' AND full_path = '{old.Path}' AND last_accessed_source = 'lucidlink_audit'") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the access update was not applied within 30 s");
            await Task.Delay(100);
        }
        await AssertReportsMatchAsync(agent);

        // The CSV of a report holds the same buckets.
        using var viewer = fixture.ClientFor("platform-admin");
        var csvResponse = await viewer.GetAsync(new Uri($"/api/v1/tenants/{tenantId}/analytics/capacity?by=size&hostId={agent.HostId}&format=csv", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, csvResponse.StatusCode);
        Assert.Equal("text/csv", csvResponse.Content.Headers.ContentType?.MediaType);
        var lines = (await csvResponse.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("key,label,files,bytes,tiered_files,tiered_bytes", lines[0]);
        var json = Buckets(await ReportAsync(viewer, tenantId, "size", agent.HostId));
        Assert.Equal(json.Count, lines.Length - 1);
        Assert.All(lines.Skip(1), line => Assert.Equal(string.Join('/', json[line.Split(',')[0]]), string.Join('/', line.Split(',')[2..])));
    }

    [Fact]
    public async Task DirectoriesAddUpEverythingBelowThemAndRankByColdBytes()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenantId = await GatewayFixture.CreateTenantAsync(admin, "du-" + Guid.NewGuid().ToString("N")[..8]);
        var agent = await EnrollAsync(tenantId);
        await ScanAsync(agent, Inventory(180, seed: 3));

        var report = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{tenantId}/analytics/directories?hostId={agent.HostId}&path=/srv&coldDays=90", UriKind.Relative)))
            .AssertJsonAsync(HttpStatusCode.OK);
        var coldBefore = report.GetProperty("coldBefore").GetString();
        // By hand: each file counts toward the folder right below /srv that holds it, at any depth.
        var direct = new Dictionary<string, long[]>(StringComparer.Ordinal);
        await using (var command = fixture.Database.DataSource.CreateCommand($"""
            SELECT split_part(substr(d.path, length('/srv/') + 1), '/', 1), count(*), sum(f.size_bytes), coalesce(sum(f.size_bytes) FILTER (WHERE f.is_stub), 0),
                   coalesce(sum(f.size_bytes) FILTER (WHERE (to_timestamp(f.atime_unix) AT TIME ZONE 'UTC')::date < '{coldBefore}'::date), 0)
            FROM alto.file_current f JOIN alto.dir d ON d.id = f.dir_id
            WHERE f.host_id = '{agent.HostId}' AND f.deleted_utc IS NULL AND d.path LIKE '/srv/%'
            GROUP BY 1
            """))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                direct["/srv/" + reader.GetString(0)] = [reader.GetInt64(1), (long)reader.GetDecimal(2), (long)reader.GetDecimal(3), (long)reader.GetDecimal(4)];
            }
        }
        var listed = report.GetProperty("directories").EnumerateArray().ToList();
        Assert.Equal(3, listed.Count);
        Assert.Equal(direct.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={string.Join('/', p.Value)}"),
            listed.Select(d => $"{d.GetProperty("path").GetString()}={d.GetProperty("files").GetInt64()}/{d.GetProperty("bytes").GetInt64()}/{d.GetProperty("tieredBytes").GetInt64()}/{d.GetProperty("coldBytes").GetInt64()}")
                .Order(StringComparer.Ordinal));
        var cold = listed.Select(d => d.GetProperty("coldBytes").GetInt64()).ToList();
        Assert.Equal(cold.OrderDescending(), cold);
        Assert.Equal(direct.Values.Sum(v => v[1]), report.GetProperty("here").GetProperty("bytes").GetInt64());

        // One level down: the folders of proj1, each whole.
        var proj1 = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{tenantId}/analytics/directories?hostId={agent.HostId}&path=/srv/proj1&limit=1", UriKind.Relative)))
            .AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(direct["/srv/proj1"][1], proj1.GetProperty("here").GetProperty("bytes").GetInt64());
        Assert.Single(proj1.GetProperty("directories").EnumerateArray());
    }

    [Fact]
    public async Task TargetsAndTheDailySeriesFollowTieringRecallsAndScans()
    {
        var host = await PlannedHost.CreateAsync(fixture, [.. Enumerable.Range(0, 6).Select(i => ($"/lucid/f{i}.bin", 90L * 86_400))]);
        using var admin = fixture.ClientFor("platform-admin");
        var analytics = $"/api/v1/tenants/{host.TenantId}/analytics";
        // Three files tiered today, one of them recalled since (state changes as the records take them).
        await fixture.Database.ExecuteAsync($"UPDATE alto.tier_object SET state = 'STUBBED', acted_utc = now() WHERE host_id = '{host.HostId}' AND full_path IN ('/lucid/f0.bin', '/lucid/f1.bin', '/lucid/f2.bin')");
        await fixture.Database.ExecuteAsync($"UPDATE alto.tier_object SET state = 'RECALLED' WHERE host_id = '{host.HostId}' AND full_path = '/lucid/f2.bin'");

        var targets = (await (await admin.GetAsync(new Uri($"{analytics}/targets?hostId={host.HostId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK)).EnumerateArray().ToList();
        var listed = targets.SelectMany(t => t.GetProperty("states").EnumerateObject()
            .Select(state => $"{t.GetProperty("targetId").GetGuid()}:{state.Name}:{state.Value.GetProperty("files").GetInt64()}:{state.Value.GetProperty("bytes").GetInt64()}"));
        var direct = new List<string>();
        await using (var command = fixture.Database.DataSource.CreateCommand(
            $"SELECT target_id || ':' || state || ':' || count(*) || ':' || sum(size_bytes) FROM alto.tier_object WHERE host_id = '{host.HostId}' GROUP BY target_id, state"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                direct.Add(reader.GetString(0));
            }
        }
        Assert.Equal(direct.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        Assert.Equal(2000, targets.Single().GetProperty("stubbedBytes").GetInt64());

        // A scan of a second host of the tenant counts on today too.
        var agent = await fixture.EnrollHostAsync(host.TenantId, new { name = "analytics-" + Guid.NewGuid().ToString("N")[..8], os = "linux", volumes = new[] { "/srv" } });
        await ScanAsync(agent, Inventory(20, seed: 5));
        var series = await (await admin.GetAsync(new Uri($"{analytics}/daily?days=3", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        var days = series.GetProperty("days").EnumerateArray().ToList();
        Assert.Equal(3, days.Count);
        var today = days[^1];
        Assert.Equal(DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), today.GetProperty("day").GetString());
        Assert.Equal((3L, 3000L, 1L, 1000L, 1L, 20L, 2000L), (today.GetProperty("tieredFiles").GetInt64(), today.GetProperty("tieredBytes").GetInt64(),
            today.GetProperty("recalledFiles").GetInt64(), today.GetProperty("recalledBytes").GetInt64(), today.GetProperty("scans").GetInt64(),
            today.GetProperty("filesScanned").GetInt64(), today.GetProperty("stubbedBytes").GetInt64()));
        Assert.All(days.SkipLast(1), day => Assert.Equal(0, day.GetProperty("tieredFiles").GetInt64()));
        // The host filter: the scanned host tiered nothing.
        var scanned = await (await admin.GetAsync(new Uri($"{analytics}/daily?days=1&hostId={agent.HostId}&format=csv", UriKind.Relative))).Content.ReadAsStringAsync();
        Assert.Equal(["day,tiered_files,tiered_bytes,recalled_files,recalled_bytes,scans,files_scanned,stubbed_bytes",
            $"{DateOnly.FromDateTime(DateTime.UtcNow):yyyy-MM-dd},0,0,0,0,1,20,0"], scanned.Split("\r\n", StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task ASearchFindsExactlyTheFilesItsFiltersSayPageByPageAndItsExportHoldsThemAll()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenantId = await GatewayFixture.CreateTenantAsync(admin, "find-" + Guid.NewGuid().ToString("N")[..8]);
        var agent = await EnrollAsync(tenantId);
        var files = Inventory(150, seed: 11);
        await ScanAsync(agent, files);
        var search = $"/api/v1/tenants/{tenantId}/inventory/search?hostId={agent.HostId}";

        // Each filter against the files as generated (the scan's own input).
        var cases = new (string Query, Func<FileRow, bool> Match)[]
        {
            ("&path=" + Uri.EscapeDataString("/srv/proj1/**.pdf"), f => f.Path.StartsWith("/srv/proj1/", StringComparison.Ordinal) && f.Path.EndsWith(".pdf", StringComparison.Ordinal)),
            ("&path=" + Uri.EscapeDataString("/srv/proj1/*"), f => f.Path.StartsWith("/srv/proj1/", StringComparison.Ordinal) && !f.Path["/srv/proj1/".Length..].Contains('/', StringComparison.Ordinal)),
            ("&path=" + Uri.EscapeDataString("/srv/proj?/sub?/file??.log"), f => System.Text.RegularExpressions.Regex.IsMatch(f.Path, @"^/srv/proj./sub./file..\.log$")),
            ("&minSize=4096&maxSize=2000000", f => f.Size is >= 4096 and <= 2_000_000),
            ("&accessedOverDays=400", f => f.AccessedDaysAgo > 400),
            ("&accessedWithinDays=100&state=local", f => f.AccessedDaysAgo is <= 99 and >= -3 && !f.Stub),
            ("&state=tiered", f => f.Stub),
            ("&owner=alice&extension=.JPG", f => f.Owner == "alice" && f.Extension == ".JPG"),
        };
        foreach (var (query, match) in cases)
        {
            var expected = files.Where(match).Select(f => f.Path).Order(StringComparer.Ordinal).ToList();
            Assert.NotEmpty(expected);
            var found = new List<string>();
            var ids = new List<long>();
            string? next = null;
            do
            {
                var page = await (await admin.GetAsync(new Uri($"{search}{query}&limit=7{(next is null ? "" : "&after=" + next)}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
                var items = page.GetProperty("items").EnumerateArray().ToList();
                Assert.InRange(items.Count, 0, 7);
                found.AddRange(items.Select(item => item.GetProperty("path").GetString()!));
                ids.AddRange(items.Select(item => item.GetProperty("id").GetInt64()));
                // The last page has no cursor.
                next = page.TryGetProperty("next", out var cursor) && cursor.ValueKind == JsonValueKind.String ? cursor.GetString() : null;
            }
            while (next is not null);
            Assert.Equal(expected, found.Order(StringComparer.Ordinal));
            Assert.Equal(ids.Order(), ids);

            var export = await admin.GetAsync(new Uri($"{search}{query}&format=csv", UriKind.Relative));
            Assert.Equal("text/csv", export.Content.Headers.ContentType?.MediaType);
            var lines = (await export.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("id,host_id,path,size_bytes,accessed_at,modified_at,owner,extension,tiered", lines[0]);
            Assert.Equal(expected, lines.Skip(1).Select(line => line.Split(',')[2]).Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task ReportsRefuseBadInputAndAnotherTenantsHostOrTenant()
    {
        var agent = await fixture.EnrollHostAsync(fixture.TenantA, new { name = "analytics-" + Guid.NewGuid().ToString("N")[..8], os = "linux", volumes = new[] { "/srv" } });
        var stranger = await fixture.EnrollHostAsync(fixture.TenantB, new { name = "analytics-" + Guid.NewGuid().ToString("N")[..8], os = "linux", volumes = new[] { "/srv" } });
        using var admin = fixture.ClientFor("platform-admin");
        var capacity = $"/api/v1/tenants/{fixture.TenantA}/analytics/capacity";
        var directories = $"/api/v1/tenants/{fixture.TenantA}/analytics/directories";
        foreach (var bad in new[] { "?by=color", "?limit=0", "?limit=1001", "?format=xml" })
        {
            await (await admin.GetAsync(new Uri(capacity + bad, UriKind.Relative))).AssertProblemAsync(HttpStatusCode.BadRequest);
        }
        foreach (var bad in new[] { "", $"?hostId={agent.HostId}&path=relative/dir", $"?hostId={agent.HostId}&coldDays=0" })
        {
            await (await admin.GetAsync(new Uri(directories + bad, UriKind.Relative))).AssertProblemAsync(HttpStatusCode.BadRequest);
        }
        var daily = $"/api/v1/tenants/{fixture.TenantA}/analytics/daily";
        var targets = $"/api/v1/tenants/{fixture.TenantA}/analytics/targets";
        foreach (var bad in new[] { $"{daily}?days=0", $"{daily}?days=801", $"{targets}?format=pdf" })
        {
            await (await admin.GetAsync(new Uri(bad, UriKind.Relative))).AssertProblemAsync(HttpStatusCode.BadRequest);
        }
        await (await admin.GetAsync(new Uri($"{daily}?hostId={stranger.HostId}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        var search = $"/api/v1/tenants/{fixture.TenantA}/inventory/search";
        foreach (var bad in new[] { "?after=abc", "?state=cold", "?minSize=10&maxSize=5", "?accessedOverDays=-1", "?limit=5000", "?format=xml" })
        {
            await (await admin.GetAsync(new Uri(search + bad, UriKind.Relative))).AssertProblemAsync(HttpStatusCode.BadRequest);
        }
        await (await admin.GetAsync(new Uri($"{search}?hostId={stranger.HostId}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        using (var viewerOfA = fixture.ClientFor("viewer"))
        {
            await (await viewerOfA.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantB}/inventory/search", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        }
        await (await admin.GetAsync(new Uri($"{targets}?hostId={stranger.HostId}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        // Another tenant's host, named under this tenant: not found, on both reports.
        await (await admin.GetAsync(new Uri($"{capacity}?hostId={stranger.HostId}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await admin.GetAsync(new Uri($"{directories}?hostId={stranger.HostId}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        // A tenant's viewer sees its tenant's reports, and nothing of another tenant.
        using var viewer = fixture.ClientFor("viewer");
        (await viewer.GetAsync(new Uri($"{capacity}?hostId={agent.HostId}&by=owner", UriKind.Relative))).EnsureSuccessStatusCode();
        (await viewer.GetAsync(new Uri($"{directories}?hostId={agent.HostId}&format=csv", UriKind.Relative))).EnsureSuccessStatusCode();
        await (await viewer.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantB}/analytics/capacity", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await viewer.GetAsync(new Uri($"{capacity}?hostId={stranger.HostId}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        using var anonymous = fixture.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri(capacity, UriKind.Relative))).StatusCode);
    }
}
