using System.Net;
using System.Net.Http.Json;

namespace Alto.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class HostAndTargetApiTests(GatewayFixture fixture)
{
    /// <summary>
    /// A host is renamed (a server renamed, a typo at registration) to a name no other host of its
    /// tenant has, in any case; another tenant's host may have it. The list, the audit log and the
    /// host's revision follow. Before, a host's name was fixed at registration.
    /// </summary>
    [Fact]
    public async Task AHostIsRenamedToANameNoOtherHostOfItsTenantHas()
    {
        using var admin = fixture.ClientFor("tenant-admin");
        using var platform = fixture.ClientFor("platform-admin");
        var suffix = Guid.NewGuid().ToString("N")[..8];
        async Task<string> RegisterAsync(HttpClient client, Guid tenant, string name) =>
            $"/api/v1/tenants/{tenant}/hosts/" + (await (await client.PostAsJsonAsync($"/api/v1/tenants/{tenant}/hosts", new { name, os = "linux", volumes = new[] { "/srv" } }))
                .AssertJsonAsync(HttpStatusCode.Created)).GetProperty("host").GetProperty("id").GetGuid();
        var typo = await RegisterAsync(admin, fixture.TenantA, $"fielserver-{suffix}");
        var other = await RegisterAsync(admin, fixture.TenantA, $"other-{suffix}");
        await RegisterAsync(platform, fixture.TenantB, $"fileserver-{suffix}");
        var before = (await admin.GetAsync(new Uri(typo, UriKind.Relative))).Headers.ETag!.Tag;

        var renamed = await admin.PatchAsJsonAsync(typo, new { name = $"fileserver-{suffix}" });
        Assert.Equal($"fileserver-{suffix}", (await renamed.AssertJsonAsync(HttpStatusCode.OK)).GetProperty("name").GetString());
        Assert.NotEqual(before, renamed.Headers.ETag!.Tag);
        var listed = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantA}/hosts?pageSize=200", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), host => host.GetProperty("name").GetString() == $"fileserver-{suffix}");
        var hostId = typo[(typo.LastIndexOf('/') + 1)..];
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'host.renamed' AND object_id = '{hostId}'"));

        var taken = await (await admin.PatchAsJsonAsync(other, new { name = $"FILESERVER-{suffix}", bandwidthLimitBytesPerSecond = 1000 })).AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("already exists", taken.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var unchanged = await (await admin.GetAsync(new Uri(other, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(($"other-{suffix}", false), (unchanged.GetProperty("name").GetString(), unchanged.TryGetProperty("bandwidthLimitBytesPerSecond", out var limit) && limit.ValueKind == System.Text.Json.JsonValueKind.Number));
        foreach (var bad in new[] { "", "has space", "../etc" })
        {
            await (await admin.PatchAsJsonAsync(other, new { name = bad })).AssertProblemAsync(HttpStatusCode.BadRequest);
        }
        await (await admin.PatchAsJsonAsync(other.Replace(fixture.TenantA.ToString(), fixture.TenantB.ToString(), StringComparison.Ordinal), new { name = $"x-{suffix}" }))
            .AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal($"other-{suffix}", await fixture.Database.ScalarAsync<string>($"SELECT name FROM alto.host WHERE id = '{other[(other.LastIndexOf('/') + 1)..]}'"));
        await RegisterAsync(admin, fixture.TenantA, $"fielserver-{suffix}");
    }

    /// <summary>
    /// Abandoned files are tried again, and held ones released, by a tenant admin only, on its own
    /// tenant's hosts, below a folder of the host's own spelling (the moves themselves: Grains
    /// JobResultTests and DispatchTests).
    /// </summary>
    [Theory]
    [InlineData("retry-abandoned")]
    [InlineData("release-held")]
    public async Task AbandonedFilesAreTriedAgainByATenantAdminOfTheHostsTenant(string action)
    {
        using var admin = fixture.ClientFor("tenant-admin");
        var hostId = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts", new { name = "retry-" + Guid.NewGuid().ToString("N")[..8], os = "linux", volumes = new[] { "/srv" } }))
            .AssertJsonAsync(HttpStatusCode.Created)).GetProperty("host").GetProperty("id").GetGuid();
        var path = $"/api/v1/tenants/{fixture.TenantA}/hosts/{hostId}/{action}";

        Assert.Equal(0, (await (await admin.PostAsJsonAsync(path, new { })).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("files").GetInt32());
        Assert.Equal(0, (await (await admin.PostAsJsonAsync(path, new { directory = "/srv/projects" })).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("files").GetInt32());
        await (await admin.PostAsJsonAsync(path, new { directory = "srv/relative" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await admin.PostAsJsonAsync(path, new { directory = "/var/elsewhere" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await fixture.ClientFor("support").PostAsJsonAsync(path, new { })).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await fixture.ClientFor("platform-admin").PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantB}/hosts/{hostId}/{action}", new { }))
            .AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AHostIsRegisteredWithAOneTimeEnrollmentTokenAndListed()
    {
        using var admin = fixture.ClientFor("tenant-admin");
        var name = "fs-" + Guid.NewGuid().ToString("N")[..8];
        var response = await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts",
            new { name, os = "linux", volumes = new[] { "/srv/projects", "/srv/home" } });
        var registration = await response.AssertJsonAsync(HttpStatusCode.Created);

        var token = registration.GetProperty("enrollmentToken").GetString()!;
        Assert.StartsWith("alto_enroll_", token, StringComparison.Ordinal);
        Assert.True(token.Length > 40);
        var host = registration.GetProperty("host");
        var hostId = host.GetProperty("id").GetGuid();
        Assert.Equal("registered", host.GetProperty("status").GetString());
        Assert.True(host.GetProperty("enrollmentExpiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(23));

        // Only the hash is kept: the token appears nowhere in the database.
        Assert.Equal(0, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM orleans.grain_state WHERE position(convert_to('{token}', 'UTF8') in payload_binary) > 0"));

        var read = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantA}/hosts/{hostId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.False(read.TryGetProperty("enrollmentToken", out _));
        Assert.Equal(["/srv/projects", "/srv/home"], read.GetProperty("volumes").EnumerateArray().Select(v => v.GetString()));

        var list = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantA}/hosts?pageSize=500", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Contains(list.GetProperty("items").EnumerateArray(), item => item.GetProperty("id").GetGuid() == hostId);
    }

    [Fact]
    public async Task AHostIsNotFoundUnderAnotherTenant()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var registration = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts",
            new { name = "only-a-" + Guid.NewGuid().ToString("N")[..8] })).AssertJsonAsync(HttpStatusCode.Created);
        var hostId = registration.GetProperty("host").GetProperty("id").GetGuid();

        await (await admin.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantB}/hosts/{hostId}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AHostNameIsUniqueWithinItsTenant()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var name = "twin-" + Guid.NewGuid().ToString("N")[..8];
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts", new { name })).AssertJsonAsync(HttpStatusCode.Created);
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts", new { name })).AssertProblemAsync(HttpStatusCode.Conflict);
        // Another tenant may use the same name.
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantB}/hosts", new { name })).AssertJsonAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task TargetsOfEachKindAreCreatedAndTheirCredentialsNeverReturned()
    {
        using var admin = fixture.ClientFor("tenant-admin");
        var suffix = Guid.NewGuid().ToString("N")[..8];
        const string secret = "s3cr3t-value-that-must-not-come-back";
        var requests = new object[]
        {
            new { name = "nas-" + suffix, kind = "path", settings = new { path = $"/mnt/tier2/{fixture.TenantA:N}" } },
            new { name = "s3-" + suffix, kind = "s3", settings = new { bucket = "alto-tier2", region = "us-east-1", endpoint = "http://127.0.0.1:4568", forcePathStyle = true },
                  credentials = new { accessKeyId = "AKIAEXAMPLE", secretAccessKey = secret } },
            new { name = "blob-" + suffix, kind = "azure", settings = new { container = "tier2", accountUrl = "https://acct.blob.core.windows.net" },
                  credentials = new { accountName = "acct", accountKey = secret } },
        };
        var ids = new List<Guid>();
        foreach (var request in requests)
        {
            var response = await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/targets", request);
            var raw = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Created, raw);
            Assert.DoesNotContain(secret, raw, StringComparison.Ordinal);
            Assert.DoesNotContain("credentials", raw, StringComparison.Ordinal);
            ids.Add(System.Text.Json.JsonDocument.Parse(raw).RootElement.GetProperty("id").GetGuid());
        }

        var listRaw = await admin.GetStringAsync(new Uri($"/api/v1/tenants/{fixture.TenantA}/targets?pageSize=500", UriKind.Relative));
        Assert.DoesNotContain(secret, listRaw, StringComparison.Ordinal);
        var s3 = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantA}/targets/{ids[1]}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("s3", s3.GetProperty("kind").GetString());
        Assert.True(s3.GetProperty("hasCredentials").GetBoolean());
        Assert.Equal("alto-tier2", s3.GetProperty("settings").GetProperty("bucket").GetString());
        // The read model never holds secrets.
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.storage_target WHERE settings::text LIKE '%{secret}%'"));
    }

    [Fact]
    public async Task ATargetIsUpdatedAndItsKindKept()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var created = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/targets",
            new { name = "move-" + Guid.NewGuid().ToString("N")[..8], kind = "path", settings = new { path = $"/mnt/old/{fixture.TenantA:N}" } })).AssertJsonAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetGuid();

        var updated = await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/targets/{id}",
            new { settings = new { path = $"/mnt/new/{fixture.TenantA:N}" }, enabled = false })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal($"/mnt/new/{fixture.TenantA:N}", updated.GetProperty("settings").GetProperty("path").GetString());
        Assert.False(updated.GetProperty("enabled").GetBoolean());

        // Settings of another kind are refused, not silently stored.
        await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/targets/{id}",
            new { settings = new { bucket = "nope" } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await admin.GetAsync(new Uri($"/api/v1/tenants/{fixture.TenantB}/targets/{id}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    /// <summary>
    /// A host registered by mistake is deleted with what waited for it; an enrolled one only once
    /// its credential is revoked (its agent cut off), and one whose files were planned or tiered
    /// never (409 saying what names it).
    /// </summary>
    [Fact]
    public async Task AHostIsDeletedOnlyWhileNotEnrolledAndNothingNamesIt()
    {
        using var admin = fixture.ClientFor("platform-admin");
        using var anonymous = fixture.CreateClient();
        var hosts = $"/api/v1/tenants/{fixture.TenantA}/hosts";
        async Task<(string Path, string Token)> RegisterAsync()
        {
            var registered = await (await admin.PostAsJsonAsync(hosts, new { name = "fs-" + Guid.NewGuid().ToString("N")[..8], os = "linux", volumes = new[] { "/srv" } }))
                .AssertJsonAsync(HttpStatusCode.Created);
            return ($"{hosts}/{registered.GetProperty("host").GetProperty("id").GetGuid()}", registered.GetProperty("enrollmentToken").GetString()!);
        }
        async Task<string> RefusedAsync(string path) =>
            (await (await admin.DeleteAsync(new Uri(path, UriKind.Relative))).AssertProblemAsync(HttpStatusCode.Conflict)).GetProperty("detail").GetString()!;

        // Never enrolled, a scan waiting for it: deleted, the scan with it, audited; its token opens nothing.
        var (mistake, token) = await RegisterAsync();
        var hostId = Guid.Parse(mistake[(mistake.LastIndexOf('/') + 1)..]);
        (await admin.PostAsJsonAsync($"{mistake}/scan", new { })).EnsureSuccessStatusCode();
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.agent_command WHERE host_id = '{hostId}'"));
        await (await admin.DeleteAsync(new Uri($"/api/v1/tenants/{fixture.TenantB}/hosts/{hostId}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        using (var stale = new HttpRequestMessage(HttpMethod.Delete, new Uri(mistake, UriKind.Relative)))
        {
            stale.Headers.TryAddWithoutValidation("If-Match", "\"not-its-revision\"");
            await (await admin.SendAsync(stale)).AssertProblemAsync(HttpStatusCode.PreconditionFailed);
        }
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(new Uri(mistake, UriKind.Relative))).StatusCode);
        await (await admin.GetAsync(new Uri(mistake, UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal((0L, 0L, 1L), (
            await fixture.Database.CountAsync($"SELECT count(*) FROM alto.host WHERE id = '{hostId}'"),
            await fixture.Database.CountAsync($"SELECT count(*) FROM alto.agent_command WHERE host_id = '{hostId}'"),
            await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'host.deleted' AND object_id = '{hostId}'")));
        Assert.False((await anonymous.PostAsJsonAsync("/api/v1/agents/enroll", new { token })).IsSuccessStatusCode, "a deleted host's token enrolled");
        await (await admin.DeleteAsync(new Uri(mistake, UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);

        // Files of it in the inventory name it (their rows have no foreign key to ask).
        var (inventoried, _) = await RegisterAsync();
        var inventoriedId = Guid.Parse(inventoried[(inventoried.LastIndexOf('/') + 1)..]);
        await fixture.Database.ExecuteAsync($"""
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            VALUES ('{fixture.TenantA}', '{inventoriedId}', 0, 'a.bin', '/srv/a.bin', 1, 0, 0, 0, 'bin', 0, 0, now())
            """);
        Assert.Contains("is named by its files in the inventory, so it stays", await RefusedAsync(inventoried), StringComparison.Ordinal);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.host WHERE id = '{inventoriedId}'"));

        // A rule for it alone names it.
        var (ruled, _) = await RegisterAsync();
        var ruledId = Guid.Parse(ruled[(ruled.LastIndexOf('/') + 1)..]);
        (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/rules",
            new { name = "skip-" + Guid.NewGuid().ToString("N")[..8], action = "exclude", hostId = ruledId, criteria = new { minSizeBytes = 1 } })).EnsureSuccessStatusCode();
        Assert.Contains("is named by 1 rule(s) for this host only", await RefusedAsync(ruled), StringComparison.Ordinal);

        // Enrolled: its credential is revoked first, then it goes.
        var (enrolled, enrollment) = await RegisterAsync();
        await (await anonymous.PostAsJsonAsync("/api/v1/agents/enroll", new { token = enrollment })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Contains("revoke its credential first", await RefusedAsync(enrolled), StringComparison.Ordinal);
        await (await admin.GetAsync(new Uri(enrolled, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        (await admin.PostAsync(new Uri($"{enrolled}/credential/revoke", UriKind.Relative), null)).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(new Uri(enrolled, UriKind.Relative))).StatusCode);

        // Its files planned: it stays, saying what names it, even with its credential revoked.
        var planned = await PlannedHost.CreateAsync(fixture, ("/lucid/cold.bin", 90 * 86_400L));
        var plannedPath = $"/api/v1/tenants/{planned.TenantId}/hosts/{planned.HostId}";
        (await admin.PostAsync(new Uri($"{plannedPath}/credential/revoke", UriKind.Relative), null)).EnsureSuccessStatusCode();
        Assert.Contains("is named by its files in the inventory, 1 record(s) of its files tiered or planned, 1 tiering job(s)", await RefusedAsync(plannedPath), StringComparison.Ordinal);
        await (await admin.GetAsync(new Uri(plannedPath, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
    }

    /// <summary>
    /// A target added by mistake is deleted, its name free again; one that a rule, a planned or
    /// tiered file, or a reconciliation schedule names is refused (409 saying what names it) and
    /// stays as it was — a target that has held data is disabled, not deleted.
    /// </summary>
    [Fact]
    public async Task ATargetIsDeletedOnlyWhileNothingNamesIt()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var host = await PlannedHost.CreateAsync(fixture, ("/lucid/cold.bin", 90 * 86_400L));
        var targets = $"/api/v1/tenants/{host.TenantId}/targets";
        var planned = (await (await admin.GetAsync(new Uri(targets, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("items")[0].GetProperty("id").GetGuid();
        async Task<string> RefusedAsync(Guid target) =>
            (await (await admin.DeleteAsync(new Uri($"{targets}/{target}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.Conflict)).GetProperty("detail").GetString()!;

        // Its rule names it; with the rule gone, the record of the file planned to it does.
        Assert.Contains("rule(s) 'cold'", await RefusedAsync(planned), StringComparison.Ordinal);
        var rule = (await admin.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/v1/tenants/{host.TenantId}/rules"))[0].GetProperty("id").GetGuid();
        (await admin.DeleteAsync(new Uri($"/api/v1/tenants/{host.TenantId}/rules/{rule}", UriKind.Relative))).EnsureSuccessStatusCode();
        Assert.Contains("1 record(s) of files tiered to it or planned for it, 1 tiering job(s)", await RefusedAsync(planned), StringComparison.Ordinal);
        await (await admin.GetAsync(new Uri($"{targets}/{planned}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.storage_target WHERE id = '{planned}'"));

        // A target reconciled on a schedule: the schedule names it.
        var scheduled = (await (await admin.PostAsJsonAsync(targets, new { name = "scheduled", kind = "path", settings = new { path = $"/mnt/scheduled/{host.TenantId:N}" } }))
            .AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        (await admin.PutAsJsonAsync($"{targets}/{scheduled}/reconcile-schedule", new { everyHours = 24 })).EnsureSuccessStatusCode();
        Assert.Contains("is named by 1 reconciliation schedule (remove it first", await RefusedAsync(scheduled), StringComparison.Ordinal);

        // One added by mistake: not from another tenant's path, not at a revision changed since; then gone, audited, its name free.
        var mistake = await admin.PostAsJsonAsync(targets, new { name = "mistake", kind = "path", settings = new { path = $"/mnt/mistake/{host.TenantId:N}" } });
        var id = (await mistake.AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        await (await admin.DeleteAsync(new Uri($"/api/v1/tenants/{fixture.TenantB}/targets/{id}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        var renamed = await admin.PatchAsJsonAsync($"{targets}/{id}", new { name = "mistaken" });
        await renamed.AssertJsonAsync(HttpStatusCode.OK);
        using var stale = new HttpRequestMessage(HttpMethod.Delete, new Uri($"{targets}/{id}", UriKind.Relative));
        stale.Headers.TryAddWithoutValidation("If-Match", mistake.Headers.ETag!.Tag);
        await (await admin.SendAsync(stale)).AssertProblemAsync(HttpStatusCode.PreconditionFailed);
        using var current = new HttpRequestMessage(HttpMethod.Delete, new Uri($"{targets}/{id}", UriKind.Relative));
        current.Headers.TryAddWithoutValidation("If-Match", renamed.Headers.ETag!.Tag);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.SendAsync(current)).StatusCode);
        await (await admin.GetAsync(new Uri($"{targets}/{id}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.storage_target WHERE id = '{id}'"));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'target.deleted' AND object_id = '{id}'"));
        await (await admin.DeleteAsync(new Uri($"{targets}/{id}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await admin.PostAsJsonAsync(targets, new { name = "mistaken", kind = "path", settings = new { path = $"/mnt/mistake/{host.TenantId:N}" } }))
            .AssertJsonAsync(HttpStatusCode.Created);
    }

    /// <summary>
    /// A target whose stubs are recalled from it is not pointed elsewhere by a slip: a change of
    /// its folder is refused (409, nothing changed) until the admin confirms the objects were
    /// moved there; a change that does not move it (compression) and a target holding nothing pass.
    /// </summary>
    [Fact]
    public async Task ATargetWithStubsIsPointedElsewhereOnlyWhenTheAdminSaysItsObjectsWereMoved()
    {
        var host = await PlannedHost.CreateAsync(fixture, ("/lucid/cold.bin", 90 * 86_400L));
        await fixture.Database.ExecuteAsync($"UPDATE alto.tier_object SET state = 'STUBBED', locator = '{host.TenantId}/obj/1', hash = '{new string('a', 64)}' WHERE host_id = '{host.HostId}'");
        using var admin = fixture.ClientFor("platform-admin");
        var target = (await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/targets", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("items")[0];
        var url = $"/api/v1/tenants/{host.TenantId}/targets/{target.GetProperty("id").GetGuid()}";
        var before = target.GetProperty("settings").GetProperty("path").GetString()!;
        var elsewhere = before + "-typo";

        var refused = await (await admin.PatchAsJsonAsync(url, new { settings = new { path = elsewhere } })).AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("1 stubbed file(s) are recalled from this target", refused.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, (await (await admin.GetAsync(new Uri(url, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("settings").GetProperty("path").GetString());

        var compressed = await (await admin.PatchAsJsonAsync(url, new { settings = new { path = before, compression = "zstd" } })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("zstd", compressed.GetProperty("settings").GetProperty("compression").GetString());
        var moved = await (await admin.PatchAsJsonAsync(url, new { settings = new { path = elsewhere }, objectsMoved = true })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(elsewhere, moved.GetProperty("settings").GetProperty("path").GetString());

        // Once its files are recalled, nothing is read from it: it moves freely.
        await fixture.Database.ExecuteAsync($"UPDATE alto.tier_object SET state = 'RECALLED' WHERE host_id = '{host.HostId}'");
        await (await admin.PatchAsJsonAsync(url, new { settings = new { path = before } })).AssertJsonAsync(HttpStatusCode.OK);
    }

    /// <summary>
    /// A disabled target takes no new objects, but what it holds is still recalled: an agent that
    /// restarted (and so knows no target until a recall asks) is handed it for its recalls.
    /// </summary>
    [Fact]
    public async Task ADisabledTargetIsStillHandedToTheTenantsAgentsForRecalls()
    {
        var host = await PlannedHost.CreateAsync(fixture, ("/lucid/cold.bin", 90 * 86_400L));
        using var admin = fixture.ClientFor("platform-admin");
        var target = (await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/targets", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("items")[0];
        var targetId = target.GetProperty("id").GetGuid();
        await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{host.TenantId}/targets/{targetId}", new { enabled = false })).AssertJsonAsync(HttpStatusCode.OK);

        using var agent = host.AgentClient(fixture);
        var access = await (await agent.PostAsync(new Uri($"/api/v1/agents/targets/{targetId}/access", UriKind.Relative), null)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(target.GetProperty("settings").GetProperty("path").GetString(), access.GetProperty("path").GetString());
        // Each hand-out is audited with why it was asked for; a reason the cluster does not know is refused.
        (await agent.PostAsync(new Uri($"/api/v1/agents/targets/{targetId}/access?reason=reconcile", UriKind.Relative), null)).EnsureSuccessStatusCode();
        await (await agent.PostAsync(new Uri($"/api/v1/agents/targets/{targetId}/access?reason=curiosity", UriKind.Relative), null)).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{host.TenantId}' AND action = 'target.accessed' AND details->>'reason' = 'recall'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{host.TenantId}' AND action = 'target.accessed' AND details->>'reason' = 'reconcile'"));
        // Another tenant's agent is not handed it, disabled or not.
        var other = await PlannedHost.CreateAsync(fixture, ("/lucid/other.bin", 90 * 86_400L));
        using var otherAgent = other.AgentClient(fixture);
        await (await otherAgent.PostAsync(new Uri($"/api/v1/agents/targets/{targetId}/access", UriKind.Relative), null)).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ATargetMayCompressWithZstdAndNothingElse()
    {
        using var admin = fixture.ClientFor("tenant-admin");
        var created = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/targets",
            new { name = "zstd-" + Guid.NewGuid().ToString("N")[..8], kind = "path", settings = new { path = $"/mnt/t2/{fixture.TenantA:N}", compression = "zstd" } })).AssertJsonAsync(HttpStatusCode.Created);
        Assert.Equal("zstd", created.GetProperty("settings").GetProperty("compression").GetString());
        var problem = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/targets",
            new { name = "lz4-" + Guid.NewGuid().ToString("N")[..8], kind = "path", settings = new { path = $"/mnt/t2/{fixture.TenantA:N}", compression = "lz4" } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("settings.compression", out _), problem.ToString());
    }

    [Fact]
    public async Task TransferWindowsAreSetWithTheirTimeZoneAndABadOneChangesNothing()
    {
        using var admin = fixture.ClientFor("tenant-admin");
        var host = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/hosts", new { name = "win-" + Guid.NewGuid().ToString("N")[..8] }))
            .AssertJsonAsync(HttpStatusCode.Created)).GetProperty("host").GetProperty("id").GetGuid();
        var url = $"/api/v1/tenants/{fixture.TenantA}/hosts/{host}";

        var set = await (await admin.PatchAsJsonAsync(url, new
        {
            transferWindows = new[] { new { days = "mon-fri", start = "20:00", end = "06:00", bytesPerSecond = 50_000_000 } },
            timeZone = "Europe/Berlin",
        })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(("Europe/Berlin", "mon-fri"), (set.GetProperty("timeZone").GetString(), set.GetProperty("transferWindows")[0].GetProperty("days").GetString()));

        var bad = await (await admin.PatchAsJsonAsync(url, new
        {
            bandwidthLimitBytesPerSecond = 1000,
            transferWindows = new[] { new { days = "someday", start = "20:00", end = "06:00" } },
            timeZone = "Mars/Olympus",
        })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("transferWindows[0]", out _));
        Assert.True(bad.GetProperty("errors").TryGetProperty("timeZone", out _));

        var read = await (await admin.GetAsync(new Uri(url, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.False(read.TryGetProperty("bandwidthLimitBytesPerSecond", out _), "the bandwidth of the refused request was applied");
        Assert.Equal("Europe/Berlin", read.GetProperty("timeZone").GetString());
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/etc")]
    [InlineData("/etc/alto-tier2")]
    [InlineData("/usr/local/tier2")]
    [InlineData("/var/lib/tier2")]
    [InlineData("/proc/1/root")]
    [InlineData("/home")]
    [InlineData("/srv/")]
    [InlineData("/srv/../etc/tier2")]
    [InlineData(@"C:\Windows\Temp\tier2")]
    public async Task APathTargetIsNeverASystemOrSharedTopFolder(string path)
    {
        using var admin = fixture.ClientFor("tenant-admin");

        var problem = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/targets",
            new { name = "sys-" + Guid.NewGuid().ToString("N")[..8], kind = "path", settings = new { path } })).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty("settings.path", out _), problem.ToString());
    }

    [Fact]
    public async Task APathTargetNeverNestsWithAnotherTenantsTargetComparedByWholeSegments()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var one = await GatewayFixture.CreateTenantAsync(admin, "nest-a-" + Guid.NewGuid().ToString("N")[..8]);
        var other = await GatewayFixture.CreateTenantAsync(admin, "nest-b-" + Guid.NewGuid().ToString("N")[..8]);
        var root = $"/mnt/shared-{Guid.NewGuid():N}";
        Task<HttpResponseMessage> CreateAsync(Guid tenant, string path) => admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/targets",
            new { name = "t-" + Guid.NewGuid().ToString("N")[..8], kind = "path", settings = new { path } });
        await (await CreateAsync(one, root + "/tier2")).AssertJsonAsync(HttpStatusCode.Created);

        foreach (var path in new[] { root + "/tier2", root + "/tier2/inner", root, root + "/./tier2/../tier2/x" })
        {
            var problem = await (await CreateAsync(other, path)).AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains("another tenant", problem.GetProperty("errors").GetProperty("settings.path")[0].GetString(), StringComparison.Ordinal);
        }
        // A name that only begins the same is another folder; and the tenant's own targets may share its roots.
        await (await CreateAsync(other, root + "/tier2-b")).AssertJsonAsync(HttpStatusCode.Created);
        await (await CreateAsync(one, root + "/tier2/archive")).AssertJsonAsync(HttpStatusCode.Created);
    }

    [Theory]
    [InlineData("s3", "settings.endpoint", "http://169.254.169.254/latest")]
    [InlineData("s3", "settings.endpoint", "http://[fe80::1]:9000")]
    [InlineData("s3", "settings.endpoint", "http://metadata.google.internal/")]
    [InlineData("s3", "settings.endpoint", "http://100.100.100.200")]
    [InlineData("s3", "settings.endpoint", "http://[::ffff:169.254.169.254]/")]
    [InlineData("azure", "settings.accountUrl", "https://169.254.169.254")]
    public async Task AnEndpointOnALinkLocalOrMetadataAddressIsRefused(string kind, string field, string url)
    {
        using var admin = fixture.ClientFor("tenant-admin");
        object settings = kind == "s3" ? new { bucket = "alto-tier2", endpoint = url } : new { container = "tier2", accountUrl = url };

        var problem = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/targets",
            new { name = "meta-" + Guid.NewGuid().ToString("N")[..8], kind, settings, credentials = kind == "s3" ? (object)new { accessKeyId = "a", secretAccessKey = "b" } : new { sasToken = "sv=x" } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azure")]
    public async Task ACloudTargetWithoutCredentialsMustSayItUsesTheHostsOwnIdentity(string kind)
    {
        using var admin = fixture.ClientFor("tenant-admin");
        object Settings(bool host) => kind == "s3"
            ? new { bucket = "alto-tier2", region = "us-east-1", useHostIdentity = host }
            : new { container = "tier2", accountUrl = "https://acct.blob.core.windows.net", useHostIdentity = host };

        var problem = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/targets",
            new { name = "bare-" + Guid.NewGuid().ToString("N")[..8], kind, settings = Settings(false) })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("useHostIdentity", problem.GetProperty("errors").GetProperty("credentials")[0].GetString(), StringComparison.Ordinal);

        var created = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantA}/targets",
            new { name = "host-" + Guid.NewGuid().ToString("N")[..8], kind, settings = Settings(true) })).AssertJsonAsync(HttpStatusCode.Created);
        Assert.True(created.GetProperty("settings").GetProperty("useHostIdentity").GetBoolean());
    }
}
