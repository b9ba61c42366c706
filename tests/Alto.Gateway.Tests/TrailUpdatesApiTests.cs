using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Alto.Gateway.Tests;

/// <summary>POST /api/v1/audit-updates: what a batch changes in the inventory and the tier objects, and what bad batches leave (nothing).</summary>
[Collection(GatewayCollection.Name)]
public sealed class TrailUpdatesApiTests(GatewayFixture fixture)
{
    private const long Day = 86_400;

    private Task<PlannedHost> HostWithFilesAsync(params (string Path, long AccessedAgo)[] files) => PlannedHost.CreateAsync(fixture, files);

    /// <summary>
    /// Sends a batch; one the gateway took is applied by the host's inventory grain after the answer,
    /// so this waits until no batch of the host is left unapplied and then for the grain's work to end
    /// (a dry-run plan queues behind it: the grain does one thing at a time).
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(PlannedHost host, object batch)
    {
        using var agent = host.AgentClient(fixture);
        var response = await agent.PostAsJsonAsync("/api/v1/audit-updates", batch);
        if (response.IsSuccessStatusCode)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (await fixture.Database.CountAsync(
                       $"SELECT count(*) FROM alto.audit_update_batch WHERE host_id = '{host.HostId}' AND applied_at IS NULL AND failed_at IS NULL") > 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the staged batch was not applied within 30 s");
                await Task.Delay(50);
            }
            using var admin = fixture.ClientFor("platform-admin");
            (await admin.PostAsync(new Uri($"/api/v1/tenants/{host.TenantId}/hosts/{host.HostId}/plan?dryRun=true", UriKind.Relative), null)).EnsureSuccessStatusCode();
        }
        return response;
    }

    /// <summary>What the host's inventory grain counted for a batch (the receipt says only that it was staged).</summary>
    private Task<string> AppliedCountsAsync(PlannedHost host, Guid agentBatchId) => fixture.Database.ScalarAsync<string>(
        $"SELECT applied || '/' || unknown || '/' || stale FROM alto.audit_update_batch WHERE id = '{Apis.TrailUpdatesApi.HostScopedId(host.HostId, agentBatchId)}'");

    private static object Batch(PlannedHost host, params object[] updates) => BatchWithId(Guid.NewGuid(), host, updates);

    private static object BatchWithId(Guid id, PlannedHost host, params object[] updates) => new
    {
        update_batch_id = id, customer_id = host.TenantId, volume_id = host.HostId, source_type = "lucidlink_audit",
        collected_at = DateTimeOffset.UtcNow, updates,
    };

    private static object Read(string path, DateTimeOffset at) => new { file_path = path, access_type = "read", last_accessed = at, audit_file = ".lucid_audit/n1/2026/11/x.log.active" };

    private Task<long> AtimeAsync(PlannedHost host, string path) =>
        fixture.Database.ScalarAsync<long>($"SELECT atime_unix FROM alto.file_current WHERE host_id = '{host.HostId}' AND full_path = '{path}'");

    /// <summary>
    /// A time without its zone would be read in the zone of the gateway's machine, hours off: it is
    /// refused, says so, and stages nothing. The seed's own form (Z) and an offset are taken and applied.
    /// </summary>
    [Theory]
    [InlineData("2026-12-04T10:00:00", "2026-12-04T10:00:00Z", false)]
    [InlineData("2026-12-04T10:00:00Z", "2026-12-04T10:00:00", false)]
    [InlineData("2026-12-04", "2026-12-04T10:00:00Z", false)]
    [InlineData("2026-12-04T10:00:00Z", "2026-12-04T10:00:00Z", true)]
    [InlineData("2026-12-04T10:00:00+02:00", "2026-12-04T11:00:00-05:00", true)]
    public async Task ATimeWithoutItsZoneIsRefusedAndStagesNothing(string lastAccessed, string collectedAt, bool taken)
    {
        var host = await HostWithFilesAsync(("/lucid/zoned.mov", 90 * Day));
        using var agent = host.AgentClient(fixture);
        var body = $$"""
            {"update_batch_id":"{{Guid.NewGuid()}}","customer_id":"{{host.TenantId}}","volume_id":"{{host.HostId}}","source_type":"lucidlink_audit",
             "collected_at":"{{collectedAt}}","updates":[{"file_path":"/lucid/zoned.mov","last_accessed":"{{lastAccessed}}","access_type":"read"}]}
            """;

        var response = await agent.PostAsync(new Uri("/api/v1/audit-updates", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        if (taken)
        {
            await response.AssertJsonAsync(HttpStatusCode.OK);
            // Applied as the instant it names, whatever its offset (an offset once failed the batch with a 500).
            var expected = DateTimeOffset.Parse(lastAccessed, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (await AtimeAsync(host, "/lucid/zoned.mov") != expected)
            {
                Assert.True(DateTime.UtcNow < deadline, "the batch was not applied within 30 s");
                await Task.Delay(50);
            }
            return;
        }
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("with its zone", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_update_batch WHERE host_id = '{host.HostId}'"));
    }

    [Fact]
    public async Task ReadsUpdateAccessOnlyWhenNewerWarmThePlannedFileOutOfItsJobAndCountUnknownPaths()
    {
        var host = await HostWithFilesAsync(("/lucid/cold.mov", 90 * Day), ("/lucid/also-cold.mov", 90 * Day), ("/lucid/recent.txt", 1 * Day));
        Assert.Equal(2, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'PLANNED'"));
        var recentBefore = await AtimeAsync(host, "/lucid/recent.txt");
        var now = DateTimeOffset.UtcNow.AddMinutes(-1);

        var batchId = Guid.NewGuid();
        var response = await SendAsync(host, BatchWithId(batchId, host,
            Read("/lucid/cold.mov", now),
            Read("/lucid/cold.mov", now.AddSeconds(-30)),
            Read("/lucid/recent.txt", DateTimeOffset.UtcNow.AddDays(-20)),
            Read("/lucid/nowhere.txt", now)));

        var receipt = await response.AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(("staged", 4), (receipt.GetProperty("status").GetString(), receipt.GetProperty("updates").GetInt32()));
        Assert.Equal("2/1/1", await AppliedCountsAsync(host, batchId));
        Assert.Equal(now.ToUnixTimeSeconds(), await AtimeAsync(host, "/lucid/cold.mov"));
        Assert.Equal(recentBefore, await AtimeAsync(host, "/lucid/recent.txt"));
        Assert.Equal("lucidlink_audit", await fixture.Database.ScalarAsync<string>(
            $"SELECT last_accessed_source FROM alto.file_current WHERE host_id = '{host.HostId}' AND full_path = '/lucid/cold.mov'"));
        // The read file left its job; the other cold file is still planned.
        Assert.Equal(["/lucid/also-cold.mov"], await PlannedAsync(host));
        var entry = await fixture.Database.ScalarAsync<string>(
            $"SELECT details::text FROM alto.audit_log WHERE tenant_id = '{host.TenantId}' AND action = 'inventory.audit_updates_applied'");
        Assert.Contains("\"source\": \"lucidlink_audit\"", entry, StringComparison.Ordinal);

        // A batch sent twice (the agent did not hear the answer): staged once, applied once.
        var twiceId = Guid.NewGuid();
        var twice = BatchWithId(twiceId, host, Read("/lucid/also-cold.mov", now));
        (await SendAsync(host, twice)).EnsureSuccessStatusCode();
        Assert.Equal("1/0/0", await AppliedCountsAsync(host, twiceId));
        var repeat = await (await SendAsync(host, twice)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((true, "duplicate"), (repeat.GetProperty("duplicate").GetBoolean(), repeat.GetProperty("status").GetString()));
        Assert.Equal(2, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{host.TenantId}' AND action = 'inventory.audit_updates_applied'"));
    }

    [Fact]
    public async Task ABatchIdAnotherHostSentFirstIsStillThisHostsOwn()
    {
        var victim = await HostWithFilesAsync(("/lucid/victim.mov", 90 * Day));
        var attacker = await HostWithFilesAsync(("/lucid/attacker.mov", 90 * Day));
        var at = DateTimeOffset.UtcNow.AddMinutes(-1);
        // The attacker guesses (or saw) the id the victim's agent will use, and sends it first.
        var id = Guid.NewGuid();
        object WithId(PlannedHost host, string path) => new
        {
            update_batch_id = id, customer_id = host.TenantId, volume_id = host.HostId, source_type = "lucidlink_audit",
            collected_at = DateTimeOffset.UtcNow, updates = new[] { Read(path, at) },
        };
        (await SendAsync(attacker, WithId(attacker, "/lucid/attacker.mov"))).EnsureSuccessStatusCode();

        var receipt = await (await SendAsync(victim, WithId(victim, "/lucid/victim.mov"))).AssertJsonAsync(HttpStatusCode.OK);

        Assert.False(receipt.GetProperty("duplicate").GetBoolean());
        Assert.Equal(id, receipt.GetProperty("batchId").GetGuid());
        Assert.Equal(at.ToUnixTimeSeconds(), await AtimeAsync(victim, "/lucid/victim.mov"));
        Assert.Equal(2, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_update_batch WHERE host_id IN ('{victim.HostId}', '{attacker.HostId}')"));
    }

    [Fact]
    public async Task ABatchStagedButNotAppliedIsAppliedBeforeTheNextOne()
    {
        var host = await HostWithFilesAsync(("/lucid/left.bin", Day), ("/lucid/next.bin", Day));
        var stranded = Guid.NewGuid();
        var at = DateTimeOffset.UtcNow.AddMinutes(-3).ToUnixTimeSeconds();
        // As if the gateway had staged it and then died before the host grain applied it.
        await fixture.Database.ExecuteAsync($$"""
            INSERT INTO alto.audit_update_batch (id, tenant_id, host_id, source, update_count) VALUES ('{{stranded}}', '{{host.TenantId}}', '{{host.HostId}}', 'lucidlink_audit', 1);
            INSERT INTO alto.audit_update_staging (batch_id, seq, full_path, kind, at_unix) VALUES ('{{stranded}}', 0, '/lucid/left.bin', 'read', {{at}});
            """);

        (await SendAsync(host, Batch(host, Read("/lucid/next.bin", DateTimeOffset.FromUnixTimeSeconds(at))))).EnsureSuccessStatusCode();

        Assert.Equal((at, at), (await AtimeAsync(host, "/lucid/left.bin"), await AtimeAsync(host, "/lucid/next.bin")));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_update_batch WHERE host_id = '{host.HostId}' AND applied_at IS NULL"));
    }

    /// <summary>
    /// A staged batch the database refuses (here a move without its new path, as a faulty writer
    /// could leave it) must not hold the host's trail back for good: it is set aside with the
    /// reason, audited as failed, and the batch after it is applied.
    /// </summary>
    [Fact]
    public async Task ABatchTheDatabaseRefusesIsSetAsideAuditedAndTheNextOneIsApplied()
    {
        var host = await HostWithFilesAsync(("/lucid/moved.bin", Day), ("/lucid/read.bin", Day));
        var poisoned = Guid.NewGuid();
        var at = DateTimeOffset.UtcNow.AddMinutes(-3).ToUnixTimeSeconds();
        await fixture.Database.ExecuteAsync($$"""
            INSERT INTO alto.audit_update_batch (id, tenant_id, host_id, source, update_count) VALUES ('{{poisoned}}', '{{host.TenantId}}', '{{host.HostId}}', 'lucidlink_audit', 1);
            INSERT INTO alto.audit_update_staging (batch_id, seq, full_path, kind, at_unix) VALUES ('{{poisoned}}', 0, '/lucid/moved.bin', 'move', {{at}});
            """);

        (await SendAsync(host, Batch(host, Read("/lucid/read.bin", DateTimeOffset.FromUnixTimeSeconds(at))))).EnsureSuccessStatusCode();

        Assert.Equal(at, await AtimeAsync(host, "/lucid/read.bin"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_update_batch WHERE id = '{poisoned}' AND applied_at IS NULL AND failed_at IS NOT NULL AND error LIKE '%null value%'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{host.TenantId}' AND action = 'inventory.trail_batch_failed' AND outcome = 'failure' AND object_id = '{poisoned}'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.file_current WHERE host_id = '{host.HostId}' AND full_path = '/lucid/moved.bin' AND deleted_utc IS NULL"));
    }

    [Fact]
    public async Task WritesDeletesAndMovesFollowTheTrail()
    {
        var host = await HostWithFilesAsync(("/lucid/a.doc", Day), ("/lucid/b.doc", Day), ("/lucid/c.doc", Day),
            ("/lucid/proj/x.doc", Day), ("/lucid/proj/sub/y.doc", Day));
        var at = DateTimeOffset.UtcNow.AddMinutes(-5);

        (await SendAsync(host, Batch(host,
            new { file_path = "/lucid/a.doc", access_type = "write", last_accessed = at },
            new { file_path = "/lucid/b.doc", access_type = "delete", last_accessed = at },
            new { file_path = "/lucid/c.doc", access_type = "move", last_accessed = at, target_path = "/lucid/archive/c.doc" },
            new { file_path = "/lucid/proj", access_type = "move", last_accessed = at, target_path = "/lucid/done/proj" }))).EnsureSuccessStatusCode();

        Assert.Equal(at.ToUnixTimeSeconds(), await fixture.Database.ScalarAsync<long>(
            $"SELECT mtime_unix FROM alto.file_current WHERE host_id = '{host.HostId}' AND full_path = '/lucid/a.doc'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.file_current WHERE host_id = '{host.HostId}' AND full_path = '/lucid/b.doc' AND deleted_utc IS NOT NULL"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.file_current WHERE host_id = '{host.HostId}' AND full_path = '/lucid/archive/c.doc' AND name = 'c.doc'"));
        // Moved files, and the files of a moved folder, are in their new folders' directories.
        Assert.Equal("/lucid/archive/c.doc:/lucid/archive /lucid/done/proj/sub/y.doc:/lucid/done/proj/sub /lucid/done/proj/x.doc:/lucid/done/proj", await fixture.Database.ScalarAsync<string>($"""
            SELECT string_agg(f.full_path || ':' || coalesce(d.path, '?'), ' ' ORDER BY f.full_path)
            FROM alto.file_current f LEFT JOIN alto.dir d ON d.id = f.dir_id AND d.host_id = f.host_id
            WHERE f.host_id = '{host.HostId}' AND f.full_path IN ('/lucid/archive/c.doc', '/lucid/done/proj/x.doc', '/lucid/done/proj/sub/y.doc')
            """));
    }

    [Fact]
    public async Task AStubReadAgainAndAgainIsFlaggedForRecallOncePerTheTenantsPolicy()
    {
        var host = await HostWithFilesAsync(("/lucid/hot.mov", 400 * Day), ("/lucid/quiet.mov", 400 * Day));
        using var admin = fixture.ClientFor("platform-admin");
        Assert.Equal(2, (await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{host.TenantId}", new { recallAfterReads = 2 })).AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("recallAfterReads").GetInt32());
        // Both files are stubs by now (as a finished job leaves them).
        await fixture.Database.ExecuteAsync($"UPDATE alto.tier_object SET state = 'STUBBED', job_id = NULL WHERE host_id = '{host.HostId}'");
        var at = DateTimeOffset.UtcNow.AddMinutes(-10);

        (await SendAsync(host, Batch(host, Read("/lucid/hot.mov", at), Read("/lucid/quiet.mov", at)))).EnsureSuccessStatusCode();
        Assert.Equal(0, await PendingCommandsAsync(host));

        (await SendAsync(host, Batch(host, Read("/lucid/hot.mov", at.AddMinutes(1))))).EnsureSuccessStatusCode();
        Assert.Equal(1, await PendingCommandsAsync(host));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND recall_flagged_utc IS NOT NULL AND full_path = '/lucid/hot.mov'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{host.TenantId}' AND action = 'tier.recall_flagged'"));

        // Flagged once: more reads queue nothing more.
        (await SendAsync(host, Batch(host, Read("/lucid/hot.mov", at.AddMinutes(2))))).EnsureSuccessStatusCode();
        Assert.Equal(1, await PendingCommandsAsync(host));
    }

    private async Task<int> PendingCommandsAsync(PlannedHost host)
    {
        using var admin = fixture.ClientFor("platform-admin");
        var detail = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/hosts/{host.HostId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        return detail.GetProperty("pendingCommands").GetInt32();
    }

    [Fact]
    public async Task AHostNamesItsLucidLinkFilespaceAndBadSettingsAreRefused()
    {
        var host = await HostWithFilesAsync(("/lucid/any.bin", Day));
        using var platform = fixture.ClientFor("platform-admin");
        var path = $"/api/v1/tenants/{host.TenantId}/hosts/{host.HostId}";

        var bad = await (await platform.PatchAsJsonAsync(path, new { lucidLink = new { filespaceRoot = "relative", pollSeconds = 0, fullScanDays = 999 } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
        var errors = bad.GetProperty("errors");
        Assert.True(errors.TryGetProperty("lucidLink.filespaceRoot", out _) && errors.TryGetProperty("lucidLink.pollSeconds", out _)
            && errors.TryGetProperty("lucidLink.fullScanDays", out _), bad.ToString());

        var set = await (await platform.PatchAsJsonAsync(path, new { lucidLink = new { filespaceRoot = "/lucid", pollSeconds = 60 } })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(("/lucid", 60, 30), (set.GetProperty("lucidLink").GetProperty("filespaceRoot").GetString(),
            set.GetProperty("lucidLink").GetProperty("pollSeconds").GetInt32(), set.GetProperty("lucidLink").GetProperty("fullScanDays").GetInt32()));
        var cleared = await (await platform.PatchAsJsonAsync(path, new { lucidLink = new { filespaceRoot = "" } })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.False(cleared.TryGetProperty("lucidLink", out _));
    }

    /// <summary>
    /// A Windows LucidLink client: its filespace is a drive (L:\) or a folder (C:\LucidVolume), its
    /// trail's entry paths are still '/'-separated, and the agent's paths (the seed's
    /// C:\LucidVolume\Data\docs\report.pdf) reach the Windows host's inventory, whatever their case.
    /// </summary>
    [Fact]
    public async Task AWindowsClientsFilespaceAndItsTrailUseTheHostsWindowsPaths()
    {
        var host = await PlannedHost.CreateAsync(fixture, "windows", @"C:\LucidVolume", (@"C:\LucidVolume\Data\docs\report.pdf", 90 * Day));
        using var platform = fixture.ClientFor("platform-admin");
        var path = $"/api/v1/tenants/{host.TenantId}/hosts/{host.HostId}";
        foreach (var root in new[] { @"L:\", @"C:\LucidVolume" })
        {
            var set = await (await platform.PatchAsJsonAsync(path, new { lucidLink = new { filespaceRoot = root, pollSeconds = 5 } })).AssertJsonAsync(HttpStatusCode.OK);
            Assert.Equal(root, set.GetProperty("lucidLink").GetProperty("filespaceRoot").GetString());
        }
        await (await platform.PatchAsJsonAsync(path, new { lucidLink = new { filespaceRoot = "/lucid" } })).AssertProblemAsync(HttpStatusCode.BadRequest);

        var now = DateTimeOffset.UtcNow.AddMinutes(-1);
        var batchId = Guid.NewGuid();
        (await SendAsync(host, BatchWithId(batchId, host, Read(@"c:\lucidvolume\data\docs\report.pdf", now)))).EnsureSuccessStatusCode();

        Assert.Equal("1/0/0", await AppliedCountsAsync(host, batchId));
        Assert.Equal(now.ToUnixTimeSeconds(), await AtimeAsync(host, @"C:\LucidVolume\Data\docs\report.pdf"));

        // A move on a Windows host: the file is in its new folder's directory, split on '\'.
        (await SendAsync(host, Batch(host, new { file_path = @"c:\lucidvolume\data\docs\report.pdf", access_type = "move", last_accessed = now,
            target_path = @"C:\LucidVolume\Archive\report.pdf" }))).EnsureSuccessStatusCode();
        Assert.Equal(@"C:\LucidVolume\Archive", await fixture.Database.ScalarAsync<string>($"""
            SELECT d.path FROM alto.file_current f JOIN alto.dir d ON d.id = f.dir_id
            WHERE f.host_id = '{host.HostId}' AND f.full_path = 'C:\LucidVolume\Archive\report.pdf' AND f.name = 'report.pdf'
            """));
    }

    [Fact]
    public async Task BadBatchesAreRefusedAndChangeNothing()
    {
        var host = await HostWithFilesAsync(("/lucid/x.bin", 90 * Day));
        var other = await HostWithFilesAsync(("/lucid/y.bin", 90 * Day));
        var atime = await AtimeAsync(host, "/lucid/x.bin");
        var read = Read("/lucid/x.bin", DateTimeOffset.UtcNow);

        var wrongHost = Batch(other, read);
        await (await SendAsync(host, wrongHost)).AssertProblemAsync(HttpStatusCode.Unauthorized);
        var tooMany = Batch(host, [.. Enumerable.Repeat(read, 10_001)]);
        await (await SendAsync(host, tooMany)).AssertProblemAsync(HttpStatusCode.BadRequest);
        var oneBad = Batch(host, read, new { file_path = "relative/path", access_type = "read", last_accessed = DateTimeOffset.UtcNow });
        var problem = await (await SendAsync(host, oneBad)).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("updates[1].file_path", out _), problem.ToString());
        await (await SendAsync(host, new { update_batch_id = Guid.NewGuid(), customer_id = host.TenantId, volume_id = host.HostId, source_type = "nfs", updates = new[] { read } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);

        using var agent = host.AgentClient(fixture);
        var malformed = await agent.PostAsync(new Uri("/api/v1/audit-updates", UriKind.Relative), new StringContent("{\"updates\": [", Encoding.UTF8, "application/json"));
        await malformed.AssertProblemAsync(HttpStatusCode.BadRequest);
        using var anonymous = fixture.ClientFor(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/v1/audit-updates", Batch(host, read))).StatusCode);

        Assert.Equal(atime, await AtimeAsync(host, "/lucid/x.bin"));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_update_batch WHERE host_id IN ('{host.HostId}', '{other.HostId}')"));
    }

    private async Task<List<string>> PlannedAsync(PlannedHost host)
    {
        var planned = new List<string>();
        await using var command = fixture.Database.DataSource.CreateCommand($"""
            SELECT f.full_path FROM alto.tier_object t JOIN alto.file_current f ON f.file_current_id = t.file_current_id
            WHERE t.host_id = '{host.HostId}' AND t.state = 'PLANNED' ORDER BY 1
            """);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            planned.Add(reader.GetString(0));
        }
        return planned;
    }
}
