using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Npgsql;

namespace Alto.Gateway.Tests;

/// <summary>
/// The cost model, savings and what-if: each figure against the same arithmetic done here on the
/// generated inventory and the tier objects' own rows; nothing a preview does is saved; bad prices
/// and draft rules are refused under their field; another tenant's target or host is not found.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class SavingsApiTests(GatewayFixture fixture)
{
    private const decimal Gb = 1_000_000_000m;
    private const decimal DaysPerMonth = 365.2425m / 12m;

    private sealed record FileRow(string Path, long Size, int AccessedDaysAgo, string Extension);

    /// <summary>Sizes from empty to 5 GB (some below the tenant's 64 KiB minimum), accessed from today to five years ago.</summary>
    private static List<FileRow> Inventory(string root, int count, int seed)
    {
        long[] sizes = [0, 1_000, 65_535, 65_536, 700_000, 12_000_000, 900_000_000, 5_000_000_000];
        int[] ages = [0, 10, 45, 91, 200, 366, 800, 1900];
        string[] extensions = ["log", "pdf", "mp4", "bin", "log"];
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var n = i + seed;
            var extension = extensions[n % extensions.Length];
            return new FileRow($"{root}/d{n % 4}/f{i}.{extension}", sizes[n % sizes.Length], ages[(n / 2) % ages.Length], extension);
        })];
    }

    private async Task<Guid> HostAsync(HttpClient admin, Guid tenantId, string volume, List<FileRow> files)
    {
        var registered = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/hosts",
            new { name = "fs-" + Guid.NewGuid().ToString("N")[..8], os = "linux", volumes = new[] { volume } })).AssertJsonAsync(HttpStatusCode.Created);
        var hostId = registered.GetProperty("host").GetProperty("id").GetGuid();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await using var insert = fixture.Database.DataSource.CreateCommand("""
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT $1, $2, 0, regexp_replace(p, '^.*/', ''), p, s, $3 - a * 86400, $3 - a * 86400, $3 - a * 86400, e, 0, 0, now()
            FROM unnest($4::text[], $5::bigint[], $6::bigint[], $7::text[]) AS f(p, s, a, e)
            """);
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now });
        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. files.Select(f => f.Path)] });
        insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. files.Select(f => f.Size)] });
        insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. files.Select(f => (long)f.AccessedDaysAgo)] });
        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. files.Select(f => f.Extension)] });
        await insert.ExecuteNonQueryAsync();
        return hostId;
    }

    private static async Task<Guid> TargetAsync(HttpClient admin, Guid tenantId, string name) =>
        (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/targets", new { name, kind = "path", settings = new { path = $"/mnt/tier2/{tenantId:N}/{name}" } }))
            .AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();

    private static readonly object Cold = new { accessedOlderThanDays = 30 };

    private static decimal Round(decimal amount) => Math.Round(amount, 4, MidpointRounding.AwayFromZero);

    [Fact]
    public async Task AWhatIfPricesEachRuleOfADraftOrOfTheRulesInForceAndSavesNothing()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenantId = await GatewayFixture.CreateTenantAsync(admin, "whatif-" + Guid.NewGuid().ToString("N")[..8]);
        var nas = await TargetAsync(admin, tenantId, "nas");
        var archive = await TargetAsync(admin, tenantId, "archive");
        var files = Inventory("/srv", 160, seed: 0);
        var hostId = await HostAsync(admin, tenantId, "/srv", files);
        var otherFiles = Inventory("/data", 40, seed: 3);
        var otherHost = await HostAsync(admin, tenantId, "/data", otherFiles);
        (await admin.PutAsJsonAsync($"/api/v1/tenants/{tenantId}/cost-model", new
        {
            currency = "EUR", localPerGbMonth = 0.12m,
            targets = new object[]
            {
                new { targetId = nas, storagePerGbMonth = 0.03m, writesPerThousand = 0.5m },
                new { targetId = archive, storagePerGbMonth = 0.002m, writesPerThousand = 6m, readsPerThousand = 10m, retrievalPerGb = 0.02m },
            },
        })).EnsureSuccessStatusCode();

        // First match wins: logs stay, what nobody read for a year goes to the archive, what is a quarter cold to the NAS.
        var draft = new object[]
        {
            new { name = "keep logs", action = "exclude", criteria = new { extensions = new[] { "log" } } },
            new { name = "frozen", targetId = archive, criteria = new { accessedOlderThanDays = 365 } },
            new { name = "cold", targetId = nas, criteria = new { accessedOlderThanDays = 90, minSizeBytes = 100_000 } },
        };
        var report = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/what-if", new { rules = draft })).AssertJsonAsync(HttpStatusCode.OK);

        var all = files.Concat(otherFiles).ToList();
        var tierable = all.Where(f => f.Size >= 64 * 1024).ToList();
        var logs = tierable.Where(f => f.Extension == "log").ToList();
        var frozen = tierable.Except(logs).Where(f => f.AccessedDaysAgo > 365).ToList();
        var cold = tierable.Except(logs).Except(frozen).Where(f => f.AccessedDaysAgo > 90 && f.Size >= 100_000).ToList();
        var unmatched = tierable.Except(logs).Except(frozen).Except(cold).ToList();
        Assert.All(new[] { logs, frozen, cold, unmatched }, Assert.NotEmpty);
        Assert.True(report.GetProperty("draft").GetBoolean());
        Assert.Equal("EUR", report.GetProperty("currency").GetString());
        Assert.Equal(all.Count, report.GetProperty("filesEvaluated").GetInt64());
        Assert.Equal(all.Count - tierable.Count, report.GetProperty("filesBelowMinimumSize").GetInt64());
        var rules = report.GetProperty("rules").EnumerateArray().ToList();
        Assert.Equal(["keep logs", "frozen", "cold"], rules.Select(r => r.GetProperty("name").GetString()));
        Assert.Equal("00000000-0000-0000-0000-000000000002", rules[1].GetProperty("ruleId").GetString());
        foreach (var (rule, expected, price, writes) in new[] { (rules[0], logs, 0.12m, 0m), (rules[1], frozen, 0.002m, 6m), (rules[2], cold, 0.03m, 0.5m) })
        {
            var bytes = expected.Sum(f => f.Size);
            Assert.Equal((expected.Count, bytes), (rule.GetProperty("files").GetInt64(), rule.GetProperty("bytes").GetInt64()));
            Assert.Equal(Round(bytes / Gb * (0.12m - price)), rule.GetProperty("monthlySavings").GetDecimal());
            Assert.Equal(Round(expected.Count * writes / 1000m), rule.GetProperty("oneTimeCost").GetDecimal());
            Assert.All(rule.GetProperty("samplePaths").EnumerateArray(), path => Assert.Contains(path.GetString(), expected.Select(f => f.Path)));
        }
        Assert.Equal(0m, rules[0].GetProperty("monthlySavings").GetDecimal());
        Assert.Equal(rules.Sum(r => r.GetProperty("monthlySavings").GetDecimal()), report.GetProperty("monthlySavings").GetDecimal());
        Assert.Equal((frozen.Count + cold.Count, frozen.Sum(f => f.Size) + cold.Sum(f => f.Size)),
            (report.GetProperty("filesToTier").GetInt64(), report.GetProperty("bytesToTier").GetInt64()));
        var remainder = report.GetProperty("unmatched");
        Assert.Equal((unmatched.Count, unmatched.Sum(f => f.Size)), (remainder.GetProperty("files").GetInt64(), remainder.GetProperty("bytes").GetInt64()));
        Assert.All(remainder.GetProperty("samplePaths").EnumerateArray(), path => Assert.Contains(path.GetString(), unmatched.Select(f => f.Path)));
        Assert.NotEmpty(remainder.GetProperty("samplePaths").EnumerateArray());

        // One host only; and a preview saved nothing: no rule, no tier object, no job.
        var one = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/what-if", new { rules = draft, hostId = otherHost })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(otherFiles.Count, one.GetProperty("filesEvaluated").GetInt64());
        Assert.Equal(otherFiles.Count(f => f.Size >= 64 * 1024 && f.Extension == "log"), one.GetProperty("rules")[0].GetProperty("files").GetInt64());
        Assert.Empty((await (await admin.GetAsync(new Uri($"/api/v1/tenants/{tenantId}/rules", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK)).EnumerateArray());
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE tenant_id = '{tenantId}'"));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE tenant_id = '{tenantId}'"));

        // Without a draft: the rules in force, by their own ids, and everything else is the remainder.
        var saved = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/rules", new { name = "cold", targetId = nas, criteria = new { accessedOlderThanDays = 90 } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        var inForce = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/what-if", new { hostId })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.False(inForce.GetProperty("draft").GetBoolean());
        var savedRule = Assert.Single(inForce.GetProperty("rules").EnumerateArray());
        Assert.Equal(saved.GetProperty("id").GetGuid(), savedRule.GetProperty("ruleId").GetGuid());
        var selected = files.Where(f => f.Size >= 64 * 1024 && f.AccessedDaysAgo > 90).ToList();
        Assert.Equal(selected.Sum(f => f.Size), savedRule.GetProperty("bytes").GetInt64());
        Assert.Equal(files.Count(f => f.Size >= 64 * 1024) - selected.Count, inForce.GetProperty("unmatched").GetProperty("files").GetInt64());
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE tenant_id = '{tenantId}'"));
    }

    [Fact]
    public async Task ADraftThatCannotBeARuleSetIsRefusedUnderItsFieldAndAnotherTenantsThingsAreNotFound()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenantId = await GatewayFixture.CreateTenantAsync(admin, "whatif-bad-" + Guid.NewGuid().ToString("N")[..8]);
        var target = await TargetAsync(admin, tenantId, "nas");
        var strangerTenant = await GatewayFixture.CreateTenantAsync(admin, "whatif-other-" + Guid.NewGuid().ToString("N")[..8]);
        var strangerTarget = await TargetAsync(admin, strangerTenant, "theirs");
        var strangerHost = await HostAsync(admin, strangerTenant, "/x", Inventory("/x", 3, seed: 0));
        var whatIf = $"/api/v1/tenants/{tenantId}/what-if";

        async Task RefusedAsync(object body, string field)
        {
            var problem = await (await admin.PostAsJsonAsync(whatIf, body)).AssertJsonAsync(HttpStatusCode.BadRequest);
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.GetRawText());
        }
        await RefusedAsync(new { rules = new object[] { new { name = "a", targetId = target, criteria = Cold }, new { name = "b", targetId = target } } }, "rules[1].criteria");
        await RefusedAsync(new { rules = new object[] { new { name = "a", targetId = strangerTarget, criteria = Cold } } }, "rules[0].targetId");
        await RefusedAsync(new { rules = new object[] { new { name = "a", action = "move", criteria = Cold } } }, "rules[0].action");
        await RefusedAsync(new { rules = new object[] { new { name = "a", targetId = target, criteria = new { pathRegex = "([a-" } } } }, "rules[0].criteria.pathRegex");
        await RefusedAsync(new { rules = new object[]
        {
            new { name = "same", targetId = target, criteria = Cold }, new { name = "SAME", targetId = target, criteria = Cold },
        } }, "rules[1].name");
        await RefusedAsync(new { rules = new object[]
        {
            new { name = "a", priority = 5, targetId = target, criteria = Cold }, new { name = "b", priority = 5, targetId = target, criteria = Cold },
        } }, "rules[1].priority");
        await RefusedAsync(new { rules = new object?[] { null } }, "rules[0]");

        // Another tenant's host is not found, whether in the body or the tenant asked for is not the caller's.
        await (await admin.PostAsJsonAsync(whatIf, new { hostId = strangerHost })).AssertProblemAsync(HttpStatusCode.NotFound);
        using var viewer = fixture.ClientFor("viewer");
        await (await viewer.PostAsJsonAsync(whatIf, new { })).AssertProblemAsync(HttpStatusCode.NotFound);
        (await viewer.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/what-if", new { })).EnsureSuccessStatusCode();
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.rule WHERE tenant_id = '{tenantId}'"));
    }

    [Fact]
    public async Task TheCostModelIsCheckedAuditedAndKeptAndPricesSavingsNowAndDayByDay()
    {
        var host = await PlannedHost.CreateAsync(fixture, [.. Enumerable.Range(0, 4).Select(i => ($"/lucid/big{i}.bin", 90L * 86_400))]);
        using var admin = fixture.ClientFor("platform-admin");
        var tenantId = host.TenantId;
        var targetId = Guid.Parse(await fixture.Database.ScalarAsync<string>($"SELECT id::text FROM alto.storage_target WHERE tenant_id = '{tenantId}'"));
        var costModel = $"/api/v1/tenants/{tenantId}/cost-model";
        var savings = $"/api/v1/tenants/{tenantId}/analytics/savings";

        // Unset: zero prices, said so.
        var unset = await (await admin.GetAsync(new Uri(costModel, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(("USD", 0m), (unset.GetProperty("currency").GetString(), unset.GetProperty("localPerGbMonth").GetDecimal()));
        Assert.False((await (await admin.GetAsync(new Uri(savings, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("costModelSet").GetBoolean());

        // Bad prices change nothing.
        foreach (var (body, field) in new (object, string)[]
        {
            (new { currency = "usd", localPerGbMonth = 0.1m, targets = Array.Empty<object>() }, "currency"),
            (new { currency = "USD", localPerGbMonth = -1m, targets = Array.Empty<object>() }, "localPerGbMonth"),
            (new { currency = "USD", localPerGbMonth = 0.1m }, "targets"),
            (new { currency = "USD", localPerGbMonth = 0.1m, targets = new[] { new { targetId = targetId, retrievalPerGb = 2_000_000m } } }, "targets[0].retrievalPerGb"),
            (new { currency = "USD", localPerGbMonth = 0.1m, targets = new[] { new { targetId = Guid.NewGuid(), retrievalPerGb = 1m } } }, "targets[0].targetId"),
            (new { currency = "USD", localPerGbMonth = 0.1m, targets = new[] { new { targetId = targetId, retrievalPerGb = 1m }, new { targetId = targetId, retrievalPerGb = 1m } } }, "targets[1].targetId"),
        })
        {
            var problem = await (await admin.PutAsJsonAsync(costModel, body)).AssertJsonAsync(HttpStatusCode.BadRequest);
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.GetRawText());
        }
        Assert.Equal(0m, (await (await admin.GetAsync(new Uri(costModel, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("localPerGbMonth").GetDecimal());

        (await admin.PutAsJsonAsync(costModel, new
        {
            currency = "USD", localPerGbMonth = 0.1m,
            targets = new[] { new { targetId, storagePerGbMonth = 0.02m, writesPerThousand = 5m, readsPerThousand = 0.4m, retrievalPerGb = 0.01m } },
        })).EnsureSuccessStatusCode();
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{tenantId}' AND action = 'tenant.cost_model_updated'"));
        // Disabling and enabling the tenant keeps its prices and its other policies.
        (await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenantId}", new { orphanGraceDays = 45, reclaimOrphans = true })).EnsureSuccessStatusCode();
        (await admin.PostAsync(new Uri($"/api/v1/tenants/{tenantId}/disable", UriKind.Relative), null)).EnsureSuccessStatusCode();
        (await admin.PostAsync(new Uri($"/api/v1/tenants/{tenantId}/enable", UriKind.Relative), null)).EnsureSuccessStatusCode();
        var tenant = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{tenantId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((45, true), (tenant.GetProperty("orphanGraceDays").GetInt32(), tenant.GetProperty("reclaimOrphans").GetBoolean()));
        Assert.Equal(0.1m, (await (await admin.GetAsync(new Uri(costModel, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("localPerGbMonth").GetDecimal());

        // Ten days ago 1 GB was already stubbed there (history as the trigger would have left it); today two 3 GB files are tiered and one recalled.
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        await fixture.Database.ExecuteAsync($"""
            INSERT INTO alto.daily_tiering (tenant_id, host_id, target_id, day, tiered_files, tiered_bytes, stubbed_bytes)
            VALUES ('{tenantId}', '{host.HostId}', '{targetId}', '{today.AddDays(-10):yyyy-MM-dd}', 1, 1000000000, 1000000000)
            """);
        await fixture.Database.ExecuteAsync($"UPDATE alto.tier_object SET size_bytes = 3000000000 WHERE host_id = '{host.HostId}'");
        await fixture.Database.ExecuteAsync($"UPDATE alto.tier_object SET state = 'STUBBED', acted_utc = now() WHERE host_id = '{host.HostId}' AND full_path IN ('/lucid/big0.bin', '/lucid/big1.bin')");
        await fixture.Database.ExecuteAsync($"UPDATE alto.tier_object SET state = 'RECALLED' WHERE host_id = '{host.HostId}' AND full_path = '/lucid/big1.bin'");
        Assert.Equal("2/6000000000/1/3000000000/3000000000", await fixture.Database.ScalarAsync<string>($"""
            SELECT tiered_files || '/' || tiered_bytes || '/' || recalled_files || '/' || recalled_bytes || '/' || stubbed_bytes FROM alto.daily_tiering
            WHERE host_id = '{host.HostId}' AND target_id = '{targetId}' AND day = (now() AT TIME ZONE 'UTC')::date
            """));

        using var viewer = fixture.ClientFor("platform-admin");
        var report = await (await viewer.GetAsync(new Uri($"{savings}?days=12", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        // Now: 3 GB on the target instead of tier 1, less the last 30 days' requests (three writes, a read, 3 GB retrieved).
        var requests = 3 * 5m / 1000m + 0.4m / 1000m + 3 * 0.01m;
        Assert.Equal((3_000_000_000L, 0.3m, 0.06m, Round(requests), 0.3m - 0.06m - Round(requests)), (report.GetProperty("stubbedBytes").GetInt64(),
            report.GetProperty("localCostAvoidedPerMonth").GetDecimal(), report.GetProperty("storageCostPerMonth").GetDecimal(),
            report.GetProperty("requestCostsLast30Days").GetDecimal(), report.GetProperty("netSavingsPerMonth").GetDecimal()));
        Assert.True(report.GetProperty("costModelSet").GetBoolean());
        var days = report.GetProperty("days").EnumerateArray().ToList();
        Assert.Equal(12, days.Count);
        Assert.Equal(0, days[0].GetProperty("stubbedBytes").GetInt64());
        Assert.Equal(1_000_000_000, days[1].GetProperty("stubbedBytes").GetInt64());
        Assert.Equal(Round(0.08m / DaysPerMonth - 5m / 1000m), days[1].GetProperty("savings").GetDecimal());
        Assert.All(days.Skip(2).SkipLast(1), day => Assert.Equal(Round(0.08m / DaysPerMonth), day.GetProperty("savings").GetDecimal()));
        Assert.Equal(Round(3 * 0.08m / DaysPerMonth - (2 * 5m / 1000m + 0.4m / 1000m + 3 * 0.01m)), days[^1].GetProperty("savings").GetDecimal());
        Assert.Equal(days.Sum(d => d.GetProperty("savings").GetDecimal()), report.GetProperty("savingsInPeriod").GetDecimal());
        var csv = (await (await viewer.GetAsync(new Uri($"{savings}?days=2&format=csv&hostId={host.HostId}", UriKind.Relative))).Content.ReadAsStringAsync())
            .Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("day,stubbed_bytes,savings,currency", csv[0]);
        Assert.Equal($"{today:yyyy-MM-dd},3000000000,{days[^1].GetProperty("savings").GetDecimal().ToString(CultureInfo.InvariantCulture)},USD", csv[2]);
    }

    [Fact]
    public async Task OnlyATenantAdminSetsPricesAndNobodyReadsAnotherTenantsSavings()
    {
        var path = $"/api/v1/tenants/{fixture.TenantA}/cost-model";
        var prices = new { currency = "CHF", localPerGbMonth = 0.2m, targets = Array.Empty<object>() };
        using var support = fixture.ClientFor("support");
        await (await support.PutAsJsonAsync(path, prices)).AssertProblemAsync(HttpStatusCode.Forbidden);
        using var tenantAdmin = fixture.ClientFor("tenant-admin");
        (await tenantAdmin.PutAsJsonAsync(path, prices)).EnsureSuccessStatusCode();
        using var viewer = fixture.ClientFor("viewer");
        Assert.Equal("CHF", (await (await viewer.GetAsync(new Uri(path, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("currency").GetString());
        await (await viewer.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantB}/analytics/savings", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await viewer.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantB}/cost-model", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await viewer.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantA}/analytics/savings?days=0", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.BadRequest);
    }
}
