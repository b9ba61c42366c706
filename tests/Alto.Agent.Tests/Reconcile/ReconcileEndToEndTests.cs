using System.Runtime.Versioning;
using System.Text.Json;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.Agent.Tests.Jobs;
using Alto.Agent.Tests.Tiering;
using Alto.TestSupport;
using Alto.Tiering;
using Amazon.S3.Model;
using Azure.Storage.Blobs;

namespace Alto.Agent.Tests.Reconcile;

/// <summary>
/// The sanitizer end to end, for each kind of target, with the real gateway and agent: files are
/// tiered, then damaged behind Alto's back — on tier 2 an object deleted, one truncated, one with
/// a byte changed, one extra object no record names; on the host a stub deleted, a stub replaced
/// by a real file, and a record deleted from the database — and a deep run, listed and censused by
/// the agent, finds each once in its class: three stubs marked LOST (audited, counted, logged),
/// the deleted stub's record closed, the replaced one RECALLED, the unknown stub reported, the
/// extra object and the closed record's object orphans kept within their grace period, the intact
/// stubs left alone. A later run finds nothing new, and one after the object is put back finds
/// the stub whole again; with the tenant's policy reclaiming orphans, only an orphan past the
/// grace period is deleted.
/// </summary>
[SupportedOSPlatform("linux")]
[Collection(TierStoreCollection.Name)]
public sealed class ReconcileEndToEndTests(RunningGateway running, TierStoreFixture servers) : IClassFixture<RunningGateway>
{
    private readonly GatewayProcess _gateway = running.Gateway;

    public static TheoryData<string> Kinds() => new() { "path", "s3", "azure" };

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task DamageBehindAltosBackIsFoundOnceInItsClassAndRepairedAsSaid(string kind)
    {
        var prefix = $"rec-{Guid.NewGuid():N}";
        var tier2 = Directory.CreateTempSubdirectory("alto-rec-tier2-").FullName;
        await using var world = await TieringWorld.CreateAsync(_gateway, target: TargetBody(kind, tier2, prefix));
        var files = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var path = Path.Combine(world.Volume.Root, $"cold-{i}.bin");
            await TieringWorld.WriteOldFileAsync(path, 64 + i);
            files.Add(path);
        }
        var agent = world.StartAgent();
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") == files.Count, "every file stubbed", agent);
        var locators = files.Select(path => LinuxStubs.Peek(path)!.Locator).ToList();
        var store = Store(kind, tier2, prefix);
        var raw = new RawTier2(kind, tier2, servers);

        // Damage behind Alto's back: deleted, truncated, one byte changed; and an object of its own no record names.
        var deleted = await ReadAllAsync(store, locators[0]);
        await store.DeleteAsync(locators[0], CancellationToken.None);
        var whole = await ReadAllAsync(store, locators[1]);
        await raw.WriteAsync(locators[1], whole[..^100]);
        var changed = await ReadAllAsync(store, locators[2]);
        changed[changed.Length / 2] ^= 0xFF;
        await raw.WriteAsync(locators[2], changed);
        var extra = await store.PutAsync(world.TenantId, new MemoryStream("an object no record names"u8.ToArray()), CancellationToken.None);
        // In the database, a record deleted (a rescan sees its file as a stub); then on the host a stub deleted, and one replaced by a
        // real file (after the rescan, which would itself have found the data back and moved the record to RECALLED).
        await _gateway.Database.ExecuteAsync($"DELETE FROM alto.tier_object WHERE host_id = '{world.HostId}' AND full_path = '{files[5]}'");
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.file_current WHERE host_id = '{world.HostId}' AND full_path = '{files[5]}' AND is_stub") == 1, "the rescan ingested", agent);
        File.Delete(files[3]);
        var replaced = await StubFiles.ShellAsync($"rm '{files[4]}' && echo 'a new file, written by a user' > '{files[4]}'");
        Assert.True(replaced.ExitCode == 0, replaced.Output);

        var run = await ReconcileAsync(world, agent, new { depth = "deep", samplePercent = 100 });
        var counts = run.GetProperty("counts");
        // Eight stubbed objects, one deleted, one extra.
        Assert.Equal(8, counts.GetProperty("objects").GetInt64());
        Assert.True((3L, 3L, 2L) == (counts.GetProperty("missing").GetInt64(), counts.GetProperty("drift").GetInt64(), counts.GetProperty("orphan").GetInt64()),
            string.Join("\n", (await FindingsAsync(world, run)).Select(f => f.ToString())));
        var findings = await FindingsAsync(world, run);
        var missing = findings.Where(f => f.GetProperty("class").GetString() == "missing").ToDictionary(f => f.GetProperty("path").GetString()!);
        Assert.Equal(files.Take(3).Order(), missing.Keys.Order());
        Assert.Equal("absent", missing[files[0]].GetProperty("kind").GetString());
        Assert.Equal("short", missing[files[1]].GetProperty("kind").GetString());
        Assert.Equal("damaged", missing[files[2]].GetProperty("kind").GetString());
        Assert.All(missing.Values, finding => Assert.Equal("marked LOST", finding.GetProperty("repair").GetString()));
        var drift = findings.Where(f => f.GetProperty("class").GetString() == "drift").ToDictionary(f => f.GetProperty("path").GetString()!, f => f.GetProperty("kind").GetString());
        Assert.Equal(new Dictionary<string, string?> { [files[3]] = "stub_deleted", [files[4]] = "stub_replaced", [files[5]] = "stub_without_record" }, drift);
        var orphans = findings.Where(f => f.GetProperty("class").GetString() == "orphan").ToList();
        Assert.Equal(new[] { extra.Key, locators[3] }.Order(), orphans.Select(f => f.GetProperty("objectKey").GetString()!).Order());
        Assert.All(orphans, orphan => Assert.StartsWith("kept: within the 30-day grace period", orphan.GetProperty("repair").GetString(), StringComparison.Ordinal));
        Assert.Equal(findings.Count, findings.Select(f => (f.GetProperty("class").GetString(), f.GetProperty("objectKey").GetString())).Distinct().Count());

        // The repairs did what they say and nothing else: three LOST, one record closed, one RECALLED, two still STUBBED, no object deleted.
        Assert.Equal(3, await world.CountAsync($"state = 'LOST' AND full_path IN ('{files[0]}', '{files[1]}', '{files[2]}')"));
        Assert.Equal(0, await world.CountAsync($"full_path IN ('{files[3]}', '{files[5]}')"));
        Assert.Equal(1, await world.CountAsync($"state = 'RECALLED' AND full_path = '{files[4]}'"));
        Assert.Equal(2, await world.CountAsync($"state = 'STUBBED' AND full_path IN ('{files[6]}', '{files[7]}')"));
        foreach (var key in locators.Skip(1).Append(extra.Key))
        {
            Assert.NotNull(await store.GetInfoAsync(key, CancellationToken.None));
        }
        Assert.Equal("a new file, written by a user\n", await File.ReadAllTextAsync(files[4]));
        Assert.NotNull(LinuxStubs.Peek(files[5]));
        Assert.Equal(3, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'tier.lost' AND outcome = 'failure'"));
        Assert.Equal(1, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'reconcile.completed' AND details->>'runId' = '{run.GetProperty("id").GetGuid()}'"));
        var metrics = await _gateway.MetricsAsync();
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("alto_reconcile_findings_total{", StringComparison.Ordinal)
                                                     && line.Contains("class=\"missing\"", StringComparison.Ordinal));
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("alto_reconcile_runs_total{", StringComparison.Ordinal)
                                                     && line.Contains("status=\"completed\"", StringComparison.Ordinal));
        Assert.Contains("stub(s) on target", _gateway.Run.Output, StringComparison.Ordinal);

        // A second run (names only) finds nothing new: the lost stubs are LOST already; the unknown stub and the orphans are reported again.
        var again = (await ReconcileAsync(world, agent, new { depth = "list" })).GetProperty("counts");
        Assert.Equal((0L, 1L, 2L), (again.GetProperty("missing").GetInt64(), again.GetProperty("drift").GetInt64(), again.GetProperty("orphan").GetInt64()));

        // The deleted object is put back (restored from a copy): the next run finds its stub whole again.
        Assert.Equal(locators[0], (await store.PutAsync(world.TenantId, new MemoryStream(deleted), CancellationToken.None)).Key);
        var restored = await ReconcileAsync(world, agent, new { depth = "list" });
        Assert.Equal(1, restored.GetProperty("counts").GetProperty("found").GetInt64());
        Assert.Equal(1, await world.CountAsync($"state = 'STUBBED' AND full_path = '{files[0]}'"));

        // The tenant's policy now reclaims orphans past its 30 days' grace. On a path target the extra object is made
        // 40 days old (the stores' own clocks cannot be turned back): the agent deletes it. The closed record's object,
        // young, is kept on every target, as is every object a stub needs.
        await world.Admin.PatchAsync($"/api/v1/tenants/{world.TenantId}", new { reclaimOrphans = true });
        if (kind == "path")
        {
            File.SetLastWriteTimeUtc(Path.Combine(tier2, extra.Key), DateTime.UtcNow.AddDays(-40));
        }
        var reclaiming = await ReconcileAsync(world, agent, new { depth = "list" });
        var repairs = (await FindingsAsync(world, reclaiming)).Where(f => f.GetProperty("class").GetString() == "orphan")
            .ToDictionary(f => f.GetProperty("objectKey").GetString()!, f => f.GetProperty("repair").GetString()!);
        Assert.Equal(new[] { extra.Key, locators[3] }.Order(), repairs.Keys.Order());
        Assert.StartsWith("kept: within the 30-day grace period", repairs[locators[3]], StringComparison.Ordinal);
        Assert.NotNull(await store.GetInfoAsync(locators[3], CancellationToken.None));
        var deletions = $"SELECT count(*) FROM alto.audit_log WHERE action = 'reconcile.orphan_deleted' AND details->>'runId' = '{reclaiming.GetProperty("id").GetGuid()}'";
        if (kind == "path")
        {
            Assert.StartsWith("deleted: unreferenced for over the 30-day grace period", repairs[extra.Key], StringComparison.Ordinal);
            Assert.Null(await store.GetInfoAsync(extra.Key, CancellationToken.None));
            Assert.Equal(1, await _gateway.Database.CountAsync(deletions));
            Assert.Equal(1, reclaiming.GetProperty("counts").GetProperty("orphan.deleted").GetInt64());
            Assert.Contains((await _gateway.MetricsAsync()).Split('\n'), line => line.StartsWith("alto_reconcile_reclaimed_total{", StringComparison.Ordinal)
                                                                              && line.Contains("outcome=\"deleted\"", StringComparison.Ordinal));
        }
        else
        {
            Assert.StartsWith("kept: within the 30-day grace period", repairs[extra.Key], StringComparison.Ordinal);
            Assert.NotNull(await store.GetInfoAsync(extra.Key, CancellationToken.None));
            Assert.Equal(0, await _gateway.Database.CountAsync(deletions));
        }
        foreach (var key in locators.Skip(1).Append(locators[0]).Where(key => key != locators[3]))
        {
            Assert.NotNull(await store.GetInfoAsync(key, CancellationToken.None));
        }
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// A run lists the target where it is now: the agent learnt it at an earlier run, then the
    /// admin moved its objects to another folder and pointed the target there. The next run,
    /// given to the same running agent, lists the new folder — it does not fail at the old one.
    /// </summary>
    [Fact]
    public async Task ARunListsTheTargetWhereTheAdminMovedItSinceTheAgentLearntIt()
    {
        var tier2 = Directory.CreateTempSubdirectory("alto-rec-moved-").FullName;
        var moved = tier2 + "-moved";
        try
        {
            await using var world = await TieringWorld.CreateAsync(_gateway, tier2: tier2);
            for (var i = 0; i < 3; i++)
            {
                await new PathTierStore(tier2).PutAsync(world.TenantId, new MemoryStream(System.Text.Encoding.UTF8.GetBytes($"object {i} before the move")), CancellationToken.None);
            }
            var agent = world.StartAgent();
            await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync(
                $"SELECT count(*) FROM alto.host WHERE id = '{world.HostId}' AND status = 'online'") == 1, "the agent online", agent);
            Assert.Equal(("completed", 3L), await RunToTheEndAsync(world, agent));

            Directory.Move(tier2, moved);
            await new PathTierStore(moved).PutAsync(world.TenantId, new MemoryStream("an object put after the move"u8.ToArray()), CancellationToken.None);
            await world.Admin.PatchAsync($"/api/v1/tenants/{world.TenantId}/targets/{world.TargetId}", new { settings = new { path = moved } });

            Assert.Equal(("completed", 4L), await RunToTheEndAsync(world, agent));
            Assert.Equal(2, await _gateway.Database.CountAsync(
                $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action = 'target.accessed' AND details->>'reason' = 'reconcile'"));
            await agent.StopAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            StubFiles.RemoveTree(tier2);
            StubFiles.RemoveTree(moved);
        }
    }

    /// <summary>Puts <paramref name="count"/> objects of distinct content into the world's folder target as Alto would; their keys.</summary>
    private static async Task<List<string>> PutObjectsAsync(TieringWorld world, string tier2, int count, string what)
    {
        var store = new PathTierStore(tier2);
        var keys = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            keys.Add((await store.PutAsync(world.TenantId, new MemoryStream(System.Text.Encoding.UTF8.GetBytes($"object {i} {what}")), CancellationToken.None)).Key);
        }
        return keys;
    }

    /// <summary>Starts the world's agent and waits until its host is online.</summary>
    private async Task<ProgramRun> OnlineAgentAsync(TieringWorld world)
    {
        var agent = world.StartAgent();
        await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.host WHERE id = '{world.HostId}' AND status = 'online'") == 1, "the agent online", agent);
        return agent;
    }

    /// <summary>Starts a head run of the world's target and waits for its end; its status and how many objects it listed.</summary>
    private static async Task<(string? Status, long Listed)> RunToTheEndAsync(TieringWorld world, ProgramRun agent)
    {
        var runId = (await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/targets/{world.TargetId}/reconcile", new { depth = "head" }))
            .GetProperty("runId").GetGuid();
        JsonElement run = default;
        await TieringWorld.WaitForAsync(async () =>
        {
            run = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/reconcile-runs/{runId}");
            return run.GetProperty("status").GetString() is not ("listing" or "census" or "reclaiming");
        }, "the run ended", agent);
        return (run.GetProperty("status").GetString(), run.GetProperty("objectsListed").GetInt64());
    }

    [Fact]
    public async Task AListingCutOffByAnAgentCrashResumesFromTheCursorAndEndsWithTheSameFindings()
    {
        var tier2 = Directory.CreateTempSubdirectory("alto-rec-resume-").FullName;
        await using var world = await TieringWorld.CreateAsync(_gateway, tier2: tier2);
        // A second part of 5,000: the state the test kills the agent in lasts about 5 s, which a poll on a busy machine does not miss.
        var keys = (await PutObjectsAsync(world, tier2, Alto.Agent.Reconcile.ReconcileRunner.PartSize + 5000, "of a crashed run")).ToHashSet();
        var agent = await OnlineAgentAsync(world);

        // Deep, at 1,000 requests a second: the first part (10,000 objects) goes after about 10 s, the last about 5 s later.
        var started = await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/targets/{world.TargetId}/reconcile",
            new { depth = "deep", samplePercent = 100, requestsPerSecond = 1000 });
        var runId = started.GetProperty("runId").GetGuid();
        var state = $"SELECT count(*) FROM alto.reconcile_run WHERE id = '{runId}' AND status = 'listing' AND objects_listed = {Alto.Agent.Reconcile.ReconcileRunner.PartSize}";
        await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync(state) == 1, "the first part taken", agent);
        await agent.KillAsync();
        Assert.Equal(1, await _gateway.Database.CountAsync(state));

        // Started again, the agent gets the command again (it was never acknowledged), reads the cursor and lists the rest.
        var again = world.StartAgent();
        JsonElement run = default;
        await TieringWorld.WaitForAsync(async () =>
        {
            run = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/reconcile-runs/{runId}");
            return run.GetProperty("status").GetString() is not ("listing" or "census" or "reclaiming");
        }, "the resumed run ended", again);
        Assert.Equal(("completed", (long)keys.Count), (run.GetProperty("status").GetString(), run.GetProperty("objectsListed").GetInt64()));
        Assert.Equal(2, await _gateway.Database.CountAsync($"SELECT batches FROM alto.reconcile_run WHERE id = '{runId}'"));
        var orphans = (await FindingsAsync(world, run)).Select(f => f.GetProperty("objectKey").GetString()!).ToList();
        Assert.Equal(orphans.Count, orphans.Distinct().Count());
        Assert.True(keys.SetEquals(orphans), $"{orphans.Count} orphans found for {keys.Count} objects");
        // It did not start over: it listed after the cursor the first agent left.
        Assert.Contains($"Reconcile run {runId}: listing target {world.TargetId} (deep) after {world.TenantId:N}/", again.Output, StringComparison.Ordinal);
        await again.StopAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// An admin cancels a run while its agent lists: the agent, told so in the answer to its next
    /// part, stops there — it lists no further and makes no request more of tier 2 for the run.
    /// </summary>
    [Fact]
    public async Task AnAgentStopsListingARunCancelledMeanwhileAtItsNextPart()
    {
        var tier2 = Directory.CreateTempSubdirectory("alto-rec-cancel-").FullName;
        await using var world = await TieringWorld.CreateAsync(_gateway, tier2: tier2);
        // Three parts' worth, hashed at 1,000 a second: the first part goes after about 10 s, the second about 10 s later, and the
        // third would take 10 s more; told at the second that the run is over, the agent stops within a page of the third.
        await PutObjectsAsync(world, tier2, Alto.Agent.Reconcile.ReconcileRunner.PartSize * 3, "of a cancelled run");
        var agent = await OnlineAgentAsync(world);
        var runId = (await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/targets/{world.TargetId}/reconcile",
            new { depth = "deep", samplePercent = 100, requestsPerSecond = 1000 })).GetProperty("runId").GetGuid();
        var listed = $"SELECT objects_listed FROM alto.reconcile_run WHERE id = '{runId}'";
        await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync(listed) >= Alto.Agent.Reconcile.ReconcileRunner.PartSize,
            "the first part taken", agent);

        var cancelled = await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/reconcile-runs/{runId}/cancel", new { });
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        var takenBeforeTheCancel = await _gateway.Database.CountAsync(listed);

        await TieringWorld.WaitForAsync(() => Task.FromResult(agent.Output.Contains($"Reconcile run {runId} is cancelled: the listing stops", StringComparison.Ordinal)),
            "the agent told at its next part", agent);
        Assert.DoesNotMatch($"Reconcile run {runId}: [0-9]+ objects listed and handed over", agent.Output);
        Assert.Equal(takenBeforeTheCancel, await _gateway.Database.CountAsync(listed));
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// An admin cancels a run while its agent deletes orphans: the agent, told so in the answer to
    /// its next report (every 100 deletions), deletes no further; what it deleted until then is in
    /// the findings and the audit log, and every orphan not deleted is still on tier 2.
    /// </summary>
    [Fact]
    public async Task AnAgentStopsDeletingOrphansOfARunCancelledMeanwhile()
    {
        var tier2 = Directory.CreateTempSubdirectory("alto-rec-reclaim-").FullName;
        await using var world = await TieringWorld.CreateAsync(_gateway, tier2: tier2);
        const int Orphans = 600;
        foreach (var key in await PutObjectsAsync(world, tier2, Orphans, "orphaned"))
        {
            File.SetLastWriteTimeUtc(Path.Combine(tier2, key), DateTime.UtcNow.AddDays(-40));
        }
        await world.Admin.PatchAsync($"/api/v1/tenants/{world.TenantId}", new { reclaimOrphans = true });
        var agent = await OnlineAgentAsync(world);
        // Twenty deletions a second: a report every 5 s, the whole reclaim 30 s. Every object is an orphan here, which the run is told is expected.
        var runId = (await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/targets/{world.TargetId}/reconcile",
            new { depth = "list", requestsPerSecond = 20, allowMassLoss = true })).GetProperty("runId").GetGuid();
        var deletedEntries = $"SELECT count(*) FROM alto.audit_log WHERE action = 'reconcile.orphan_deleted' AND outcome = 'success' AND details->>'runId' = '{runId}'";
        await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync(deletedEntries) >= 100, "the first deletions reported", agent);

        var cancelled = await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/reconcile-runs/{runId}/cancel", new { });
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        await TieringWorld.WaitForAsync(() => Task.FromResult(agent.Output.Contains($"Reconcile run {runId} is cancelled: no orphan more is deleted", StringComparison.Ordinal)),
            "the agent told at its next report", agent);

        // At most the deletions of the report under way when the cancel came were made after it, and each of them is recorded.
        var left = Directory.EnumerateFiles(tier2, "*", SearchOption.AllDirectories).Count();
        Assert.InRange(left, 1, Orphans - 100);
        Assert.Equal(Orphans - left, await _gateway.Database.CountAsync(deletedEntries));
        Assert.Equal(Orphans - left, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.reconcile_finding WHERE run_id = '{runId}' AND class = 'orphan' AND reclaim = 'deleted'"));
        Assert.Equal(left, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.reconcile_finding WHERE run_id = '{runId}' AND class = 'orphan' AND reclaim = 'kept' AND repair LIKE 'kept: cancelled by user:%'"));
        var run = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/reconcile-runs/{runId}");
        Assert.Equal(("cancelled", Orphans - left, (long)left),
            (run.GetProperty("status").GetString(), run.GetProperty("counts").GetProperty("orphan.deleted").GetInt64(), run.GetProperty("counts").GetProperty("orphan.kept").GetInt64()));
        await Task.Delay(TimeSpan.FromSeconds(6));
        Assert.Equal(left, Directory.EnumerateFiles(tier2, "*", SearchOption.AllDirectories).Count());
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ALostStubIsReTieredFromAnIntactCopyOfItsContentAndReadsBackWhole()
    {
        var tier2 = Directory.CreateTempSubdirectory("alto-rec-retier-").FullName;
        await using var world = await TieringWorld.CreateAsync(_gateway, tier2: tier2);
        // Two files with the same bytes (a copy a user made): both tiered, one object.
        var original = Path.Combine(world.Volume.Root, "report.bin");
        var copy = Path.Combine(world.Volume.Root, "report-copy.bin");
        var (agent, sha256, locator) = await StubbedWithACopyAsync(world, original, $"cp -p '{original}' '{copy}'");
        Assert.Equal(locator, LinuxStubs.Peek(copy)!.Locator);
        // The copy is recalled (its data is on the host again); then the object is lost behind Alto's back, and the copy edited.
        await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/hosts/{world.HostId}/recall", new { paths = new[] { copy } });
        await TieringWorld.WaitForAsync(async () => await world.CountAsync($"state = 'RECALLED' AND full_path = '{copy}'") == 1, "the copy recalled", agent);
        var bytes = await File.ReadAllBytesAsync(copy);
        File.Delete(Path.Combine(tier2, locator));
        await File.AppendAllTextAsync(copy, "edited");

        // The copy no longer holds the content: its agent uploads nothing, and the finding says why.
        var first = await ReconcileAsync(world, agent, new { depth = "list" });
        Assert.Equal(1, first.GetProperty("counts").GetProperty("missing").GetInt64());
        var mismatch = await RetierAsync(world, agent, first, succeeded: false);
        Assert.Equal(("missing", $"marked LOST; the copy at {world.HostId}:{copy} no longer holds its content: not re-tiered"), mismatch);
        Assert.Equal(1, await world.CountAsync($"state = 'LOST' AND full_path = '{original}'"));
        Assert.False(File.Exists(Path.Combine(tier2, locator)));

        // The copy's content is put back: the next run finds the LOST stub's content whole there, and its agent
        // hashes the file and uploads it to the lost key; the record is STUBBED again.
        await File.WriteAllBytesAsync(copy, bytes);
        var second = await ReconcileAsync(world, agent, new { depth = "list" });
        Assert.Equal(0, second.GetProperty("counts").GetProperty("missing").GetInt64());
        var restored = await RetierAsync(world, agent, second, succeeded: true);
        Assert.Equal(("found", $"marked LOST, then re-tiered from the intact copy at {world.HostId}:{copy}: STUBBED again"), restored);
        Assert.Equal(1, await world.CountAsync($"state = 'STUBBED' AND full_path = '{original}'"));
        Assert.Equal(2, await _gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{world.TenantId}' AND action IN ('tier.lost', 'tier.found') AND details->>'path' = '{original}'"));
        Assert.Contains((await _gateway.MetricsAsync()).Split('\n'), line => line.StartsWith("alto_reconcile_retiered_total{", StringComparison.Ordinal)
                                                                          && line.Contains("outcome=\"restored\"", StringComparison.Ordinal));
        // The stub reads whole again (another program's open recalls it), and the copy was left as it was.
        Assert.Equal(sha256, await TieringWorld.ReadByAnotherProgramAsync(original));
        Assert.Equal(sha256, await TieringWorld.ReadByAnotherProgramAsync(copy));
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ALostStubIsReTieredFromACopyWhoseNameIsNotUtf8ByItsBytes()
    {
        var tier2 = Directory.CreateTempSubdirectory("alto-rec-retier-raw-").FullName;
        await using var world = await TieringWorld.CreateAsync(_gateway, tier2: tier2);
        // The copy is named in Latin-1 (é as the byte 0xE9): the inventory holds its name escaped.
        var original = Path.Combine(world.Volume.Root, "report.bin");
        var copy = RawPaths.FromBytes([.. System.Text.Encoding.UTF8.GetBytes(world.Volume.Root + "/copie-"), 0xE9, .. ".bin"u8]);
        var escapedCopy = RawPaths.ToWire(copy).Text;
        var (agent, sha256, locator) = await StubbedWithACopyAsync(world, original, $"bash -c 'cp -p -- \"$1\" \"$(printf \"%b\" \"$2\")\"' cp '{original}' '{escapedCopy}'");
        // The copy is read (recalled on open, its data on the host again); then the object is lost behind Alto's back.
        var read = await StubFiles.ShellAsync($"bash -c 'sha256sum -- \"$(printf \"%b\" \"$1\")\"' sha '{escapedCopy}'");
        Assert.True(read.ExitCode == 0 && read.Output.StartsWith(sha256, StringComparison.Ordinal), read.Output);
        await TieringWorld.WaitForAsync(async () => await world.CountAsync($"state = 'RECALLED' AND full_path = '{escapedCopy}'") == 1, "the copy recalled", agent);
        File.Delete(Path.Combine(tier2, locator));

        // The run marks the stub LOST and hands the copy to its agent escaped: the agent reads it by its bytes and
        // uploads it to the lost key, and the record is STUBBED again.
        var run = await ReconcileAsync(world, agent, new { depth = "list" });
        Assert.Equal(1, run.GetProperty("counts").GetProperty("missing").GetInt64());
        var (_, repair) = await RetierAsync(world, agent, run, succeeded: true);
        Assert.Equal($"marked LOST, then re-tiered from the intact copy at {world.HostId}:{escapedCopy}: STUBBED again", repair);
        Assert.Equal(1, await world.CountAsync($"state = 'STUBBED' AND full_path = '{original}'"));
        Assert.True(File.Exists(Path.Combine(tier2, locator)));
        Assert.Equal(sha256, await TieringWorld.ReadByAnotherProgramAsync(original));
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// Writes an old file at <paramref name="original"/>, copies it with <paramref name="copyCommand"/>
    /// (a user's copy: the same bytes), and has a started agent tier both (one object). Returns the
    /// agent, the content's SHA-256 and the object's key.
    /// </summary>
    private static async Task<(ProgramRun Agent, string Sha256, string Locator)> StubbedWithACopyAsync(TieringWorld world, string original, string copyCommand)
    {
        var sha256 = await TieringWorld.WriteOldFileAsync(original, 96);
        var copied = await StubFiles.ShellAsync(copyCommand);
        Assert.True(copied.ExitCode == 0, copied.Output);
        var agent = world.StartAgent();
        await world.ScanAsync();
        await TieringWorld.WaitForAsync(async () => await world.CountAsync("state = 'STUBBED'") == 2, "both files stubbed", agent);
        return (agent, sha256, LinuxStubs.Peek(original)!.Locator);
    }

    /// <summary>Waits for the run's one re-tier to be reported; its finding's class and repair.</summary>
    private async Task<(string?, string?)> RetierAsync(TieringWorld world, ProgramRun agent, JsonElement run, bool succeeded)
    {
        var audited = $"SELECT count(*) FROM alto.audit_log WHERE action = 'reconcile.retiered' AND outcome = '{(succeeded ? "success" : "failure")}' " +
                      $"AND details->>'runId' = '{run.GetProperty("id").GetGuid()}'";
        await TieringWorld.WaitForAsync(async () => await _gateway.Database.CountAsync(audited) == 1, "the re-tier reported", agent);
        var finding = Assert.Single(await FindingsAsync(world, run));
        return (finding.GetProperty("class").GetString(), finding.GetProperty("repair").GetString());
    }

    private object TargetBody(string kind, string tier2, string prefix) => kind switch
    {
        "path" => new { name = "nas", kind, settings = new { path = tier2 } },
        "s3" => new
        {
            name = "s3", kind, settings = new { bucket = TierStoreFixture.Bucket, endpoint = servers.S3.S3Endpoint, region = "us-east-1", forcePathStyle = true, prefix },
            credentials = new { accessKeyId = Tier2Server.S3Key, secretAccessKey = Tier2Server.S3Key },
        },
        _ => new { name = "blob", kind, settings = new { container = "tier2", prefix }, credentials = new { connectionString = servers.Azurite.AzureConnectionString } },
    };

    private ITierStore Store(string kind, string tier2, string prefix) =>
        new TierTarget(kind, tier2, TierStoreFixture.Bucket, "us-east-1", servers.S3.S3Endpoint, kind == "path" ? null : prefix, "tier2",
            null, true, Tier2Server.S3Key, Tier2Server.S3Key, servers.Azurite.AzureConnectionString).Open();

    /// <summary>Starts a run and waits for it to end; the run as the API shows it.</summary>
    private static async Task<JsonElement> ReconcileAsync(TieringWorld world, ProgramRun agent, object request)
    {
        var started = await world.Admin.PostAsync($"/api/v1/tenants/{world.TenantId}/targets/{world.TargetId}/reconcile", request);
        var runId = started.GetProperty("runId").GetGuid();
        JsonElement run = default;
        await TieringWorld.WaitForAsync(async () =>
        {
            run = await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/reconcile-runs/{runId}");
            return run.GetProperty("status").GetString() is not ("listing" or "census" or "reclaiming");
        }, $"reconcile run {runId} ended", agent);
        Assert.True(run.GetProperty("status").GetString() == "completed", run.ToString());
        return run;
    }

    /// <summary>Every finding of the run, page by page.</summary>
    private static async Task<List<JsonElement>> FindingsAsync(TieringWorld world, JsonElement run)
    {
        var findings = new List<JsonElement>();
        for (var page = 1; ; page++)
        {
            var items = (await world.Admin.GetAsync($"/api/v1/tenants/{world.TenantId}/reconcile-runs/{run.GetProperty("id").GetGuid()}/findings?page={page}&pageSize=500"))
                .GetProperty("items").EnumerateArray().ToList();
            findings.AddRange(items);
            if (items.Count < 500)
            {
                return findings;
            }
        }
    }

    private static async Task<byte[]> ReadAllAsync(ITierStore store, string key)
    {
        await using var stream = await store.OpenReadAsync(key, 0, null, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>Writes bytes under a key as another program would, past Alto's content addressing: how tier 2 gets damaged.</summary>
    private sealed class RawTier2(string kind, string tier2, TierStoreFixture servers)
    {
        public async Task WriteAsync(string key, byte[] bytes)
        {
            switch (kind)
            {
                case "path":
                    await File.WriteAllBytesAsync(Path.Combine(tier2, key), bytes);
                    break;
                case "s3":
                    using (var s3 = servers.S3Client())
                    {
                        await s3.PutObjectAsync(new PutObjectRequest { BucketName = TierStoreFixture.Bucket, Key = key, InputStream = new MemoryStream(bytes), UseChunkEncoding = false });
                    }
                    break;
                default:
                    await new BlobContainerClient(servers.Azurite.AzureConnectionString, "tier2").GetBlobClient(key).UploadAsync(new BinaryData(bytes), overwrite: true);
                    break;
            }
        }
    }
}
