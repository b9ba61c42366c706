using System.Net;
using System.Net.Http.Json;
using Alto.TestSupport;

namespace Alto.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class PlanApiTests(GatewayFixture fixture)
{
    private static Uri Relative(string path) => new(path, UriKind.Relative);

    [Fact]
    public async Task AHostIsPreviewedThenPlannedThroughTheApiWithItsBandwidthInTheEstimate()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "plan-" + Guid.NewGuid().ToString("N")[..8]);
        // A new tenant is safe by default: jobs wait for approval, and nothing under 64 KiB is tiered.
        var created = await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}"))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(("manual", 65536), (created.GetProperty("planApproval").GetString(), created.GetProperty("minTierableBytes").GetInt32()));
        await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { minTierableBytes = -1 })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { planApproval = "sometimes" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        var anySize = await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { minTierableBytes = 0 })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(("manual", 0), (anySize.GetProperty("planApproval").GetString(), anySize.GetProperty("minTierableBytes").GetInt32()));
        var target = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/targets",
            new { name = "nas", kind = "path", settings = new { path = $"/mnt/tier2/{tenant:N}" } })).AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var host = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/hosts", new { name = "fs01", volumes = new[] { "/srv" } }))
            .AssertJsonAsync(HttpStatusCode.Created)).GetProperty("host").GetProperty("id").GetGuid();
        var limited = await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenant}/hosts/{host}", new { bandwidthLimitBytesPerSecond = 1000 }))
            .AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(1000, limited.GetProperty("bandwidthLimitBytesPerSecond").GetInt64());
        await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenant}/hosts/{host}", new { bandwidthLimitBytesPerSecond = -5 })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules",
            new { name = "old logs", targetId = target, criteria = new { extensions = new[] { "log" }, modifiedOlderThanDays = 7 } })).AssertJsonAsync(HttpStatusCode.Created);
        // The inventory as an ingest leaves it: 12 old logs of 500 bytes, 3 fresh ones, one text file.
        await fixture.Database.ExecuteAsync($"""
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT '{tenant}', '{host}', 0, 'f' || i, '/srv/logs/f' || i || '.' || ext, 500, 0, extract(epoch FROM now())::bigint - age * 86400, 0,
                   ext, 0, 0, now()
            FROM (SELECT i, CASE WHEN i = 15 THEN 'txt' ELSE 'log' END AS ext, CASE WHEN i < 12 OR i = 15 THEN 30 ELSE 1 END AS age
                  FROM generate_series(0, 15) i) f
            """);

        var preview = await (await admin.PostAsync(Relative($"/api/v1/tenants/{tenant}/hosts/{host}/plan?dryRun=true"), null)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.True(preview.GetProperty("dryRun").GetBoolean());
        Assert.Equal((16, 12, 6000, 6), (preview.GetProperty("filesEvaluated").GetInt32(), preview.GetProperty("filesToTier").GetInt32(),
            preview.GetProperty("bytesToTier").GetInt32(), preview.GetProperty("estimatedTransferSeconds").GetInt32()));
        var rule = preview.GetProperty("rules")[0];
        Assert.Equal(("old logs", 12, 10), (rule.GetProperty("ruleName").GetString(), rule.GetProperty("files").GetInt32(), rule.GetProperty("samplePaths").GetArrayLength()));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host}'"));
        // With a 1000-byte minimum these 500-byte files stay, and the tenant's preview says why.
        await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { minTierableBytes = 1000 })).AssertJsonAsync(HttpStatusCode.OK);
        var small = await (await admin.PostAsync(Relative($"/api/v1/tenants/{tenant}/plan?dryRun=true"), null)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((0, 16), (small.GetProperty("filesToTier").GetInt32(), small.GetProperty("filesBelowMinimumSize").GetInt32()));
        await (await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { minTierableBytes = 0 })).AssertJsonAsync(HttpStatusCode.OK);

        var plan = await (await admin.PostAsync(Relative($"/api/v1/tenants/{tenant}/plan?dryRun=false"), null)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(12, plan.GetProperty("changes").GetProperty("newlyPlanned").GetInt32());
        Assert.Equal(host, plan.GetProperty("hosts")[0].GetProperty("hostId").GetGuid());
        Assert.Equal(12, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host}' AND state = 'PLANNED'"));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{host}' AND file_count = 12 AND estimated_seconds = 6"));

        await (await admin.PostAsync(Relative($"/api/v1/tenants/{fixture.TenantB}/hosts/{host}/plan"), null)).AssertProblemAsync(HttpStatusCode.NotFound);

        // A plan made while the audit log will not take its entry (the database failing just after the plan's own transaction)
        // is answered 503 saying it was made, not that nothing was changed; planning again records it and plans nothing twice.
        var planRuns = $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{tenant}' AND action = 'plan.run'";
        Assert.Equal(1, await fixture.Database.CountAsync(planRuns));
        await using (await AuditLogRefusal.StartAsync(fixture.Database, tenant))
        {
            var unrecorded = await (await admin.PostAsync(Relative($"/api/v1/tenants/{tenant}/hosts/{host}/plan?dryRun=false"), null))
                .AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.StartsWith("The plan was made (0 file(s) newly planned) but its audit entry could not be written", unrecorded.GetProperty("detail").GetString(),
                StringComparison.Ordinal);
        }
        Assert.Equal(1, await fixture.Database.CountAsync(planRuns));
        await (await admin.PostAsync(Relative($"/api/v1/tenants/{tenant}/hosts/{host}/plan?dryRun=false"), null)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(2, await fixture.Database.CountAsync(planRuns));
        Assert.Equal(12, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host}' AND state = 'PLANNED'"));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tiering_job WHERE host_id = '{host}'"));

        // Under manual approval the job waits, with the figures of its plan, until a tenant admin approves it.
        var waiting = await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/approvals"))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((1, 12, 6000, 6), (waiting.GetProperty("jobs").GetInt32(), waiting.GetProperty("files").GetInt32(),
            waiting.GetProperty("bytes").GetInt32(), waiting.GetProperty("estimatedSeconds").GetInt32()));
        var job = waiting.GetProperty("waiting")[0];
        Assert.Equal(("old logs", 5), (job.GetProperty("ruleName").GetString(), job.GetProperty("samplePaths").GetArrayLength()));
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/approvals", new { })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/approvals", new { jobIds = new[] { Guid.NewGuid() } })).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantB}/approvals", new { jobIds = new[] { job.GetProperty("id").GetGuid() } }))
            .AssertProblemAsync(HttpStatusCode.NotFound);
        // This tenant's host named under another tenant: not found on every list (not an empty page), and approving all of it approves nothing.
        foreach (var list in new[] { "jobs", "tier-objects", "tier-objects/summary", "approvals" })
        {
            await (await admin.GetAsync(Relative($"/api/v1/tenants/{fixture.TenantB}/{list}?hostId={host}"))).AssertProblemAsync(HttpStatusCode.NotFound);
        }
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantB}/approvals", new { all = true, hostId = host })).AssertProblemAsync(HttpStatusCode.NotFound);
        // Jobs are approved only with the audit entry that says so: a log that will not take it leaves them waiting.
        await using (await AuditLogRefusal.StartAsync(fixture.Database, tenant))
        {
            await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/approvals", new { all = true })).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }
        Assert.Equal(0, (await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/jobs?status=queued"))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("total").GetInt32());
        var approved = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/approvals", new { all = true })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((1, 12), (approved.GetProperty("approved").GetArrayLength(), approved.GetProperty("files").GetInt32()));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{tenant}' AND action = 'tier.jobs_approved' AND actor LIKE 'user:%'"));

        // The read models show the plan: the job, its tier objects, the summary.
        var jobs = await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/jobs?hostId={host}&status=queued"))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((1, 12), (jobs.GetProperty("total").GetInt32(), jobs.GetProperty("items")[0].GetProperty("fileCount").GetInt32()));
        var objects = await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/tier-objects?state=planned&pathPrefix=/srv/logs&pageSize=5"))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((12, 5), (objects.GetProperty("total").GetInt32(), objects.GetProperty("items").GetArrayLength()));
        var summary = await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/tier-objects/summary"))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(("PLANNED", 12, 6000), (summary[0].GetProperty("state").GetString(), summary[0].GetProperty("files").GetInt32(), summary[0].GetProperty("bytes").GetInt32()));
        await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/jobs?status=lost"))).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/tier-objects?pathPrefix=srv"))).AssertProblemAsync(HttpStatusCode.BadRequest);

        // Operators see planning on /metrics.
        var metrics = await (await admin.GetAsync(Relative("/metrics"))).Content.ReadAsStringAsync();
        Assert.Contains("alto_plan_files_evaluated", metrics, StringComparison.Ordinal);
        Assert.Contains("alto_plan_duration", metrics, StringComparison.Ordinal);
    }

    /// <summary>A new host of <paramref name="tenant"/> with four files of 100,000 bytes planned by a new rule into a job that waits for approval.</summary>
    private async Task<(Guid Host, Guid Job)> WaitingJobAsync(HttpClient admin, Guid tenant, string purpose)
    {
        var target = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/targets",
            new { name = purpose + "-" + Guid.NewGuid().ToString("N")[..8], kind = "path", settings = new { path = $"/mnt/tier2/{Guid.NewGuid():N}" } }))
            .AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var host = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/hosts", new { name = purpose[..4] + "-" + Guid.NewGuid().ToString("N")[..8], volumes = new[] { "/srv" } }))
            .AssertJsonAsync(HttpStatusCode.Created)).GetProperty("host").GetProperty("id").GetGuid();
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/rules",
            new { name = purpose + " " + Guid.NewGuid().ToString("N")[..8], targetId = target, criteria = new { pathGlobs = new[] { "/srv/archive/**" } } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        await fixture.Database.ExecuteAsync($"""
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT '{tenant}', '{host}', 0, 'f' || i, '/srv/archive/f' || i || '.bin', 100000, 0, 0, 0, 'bin', 0, 0, now()
            FROM generate_series(1, 4) i
            """);
        await (await admin.PostAsync(Relative($"/api/v1/tenants/{tenant}/hosts/{host}/plan?dryRun=false"), null)).AssertJsonAsync(HttpStatusCode.OK);
        return (host, Guid.Parse(await fixture.Database.ScalarAsync<string>($"SELECT id::text FROM alto.tiering_job WHERE host_id = '{host}' AND status = 'awaiting_approval'")));
    }

    [Fact]
    public async Task AJobIsCancelledByATenantAdminOfItsTenantWithItsReasonAndItsFilesHeld()
    {
        using var platformAdmin = fixture.ClientFor("platform-admin");
        using var admin = fixture.ClientFor("tenant-admin");
        var tenant = fixture.TenantA;
        var (_, job) = await WaitingJobAsync(admin, tenant, "cancel");
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/approvals", new { jobIds = new[] { job } })).AssertJsonAsync(HttpStatusCode.OK);
        var cancel = $"/api/v1/tenants/{tenant}/jobs/{job}/cancel";
        var stillQueued = $"SELECT count(*) FROM alto.tiering_job j JOIN alto.tier_object t ON t.job_id = j.id WHERE j.id = '{job}' AND j.status = 'queued' AND t.state = 'PLANNED'";

        // Only a tenant admin of the job's tenant cancels, only with a sound request; none of these changes anything.
        foreach (var role in new[] { "support", "viewer" })
        {
            using var client = fixture.ClientFor(role);
            await (await client.PostAsJsonAsync(cancel, new { })).AssertProblemAsync(HttpStatusCode.Forbidden);
        }
        using (var anonymous = fixture.ClientFor(null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync(cancel, new { })).StatusCode);
        }
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantB}/jobs/{job}/cancel", new { })).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await platformAdmin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantB}/jobs/{job}/cancel", new { })).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/jobs/{Guid.NewGuid()}/cancel", new { })).AssertProblemAsync(HttpStatusCode.NotFound);
        foreach (var bad in new object[] { new { holdDays = 0 }, new { holdDays = 366 }, new { reason = new string('r', 501) }, new { reason = "two\nlines" } })
        {
            await (await admin.PostAsJsonAsync(cancel, bad)).AssertProblemAsync(HttpStatusCode.BadRequest);
        }
        await using (await AuditLogRefusal.StartAsync(fixture.Database, tenant))
        {
            await (await admin.PostAsJsonAsync(cancel, new { })).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }
        Assert.Equal(4, await fixture.Database.CountAsync(stillQueued));

        // No agent has it: it ends at once, its four files held for the days asked.
        var cancelled = await (await admin.PostAsJsonAsync(cancel, new { holdDays = 4, reason = "  moved to another share  " })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(("cancelled", 4), (cancelled.GetProperty("status").GetString(), cancelled.GetProperty("filesHeld").GetInt32()));
        Assert.InRange(cancelled.GetProperty("heldUntil").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddDays(4).AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(4).AddMinutes(5));
        using var viewer = fixture.ClientFor("viewer");
        var read = await (await viewer.GetAsync(Relative($"/api/v1/tenants/{tenant}/jobs/{job}"))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("cancelled", read.GetProperty("status").GetString());
        Assert.Matches("^cancelled by user:[^:]+: moved to another share$", read.GetProperty("lastError").GetString());
        Assert.Equal(read.GetProperty("lastError").GetString(), read.GetProperty("cancelReason").GetString());
        Assert.Equal(4, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE job_id = '{job}' AND state = 'SKIPPED' AND next_attempt_utc > now() + interval '3 days'"));
        Assert.Equal("moved to another share|4", await fixture.Database.ScalarAsync<string>(
            $"SELECT details->>'reason' || '|' || (details->>'holdDays') FROM alto.audit_log WHERE action = 'tier.job_cancelled' AND object_id = '{job}' AND actor LIKE 'user:%'"));
        // Over: it is not cancelled again.
        await (await admin.PostAsJsonAsync(cancel, new { })).AssertProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task AWaitingJobIsDeclinedByATenantAdminWithItsReasonAndItsFilesStayOutOfPlans()
    {
        using var platformAdmin = fixture.ClientFor("platform-admin");
        using var admin = fixture.ClientFor("tenant-admin");
        var tenant = fixture.TenantA;
        var (host, job) = await WaitingJobAsync(admin, tenant, "decline");
        var decline = $"/api/v1/tenants/{tenant}/approvals/decline";
        var stillWaiting = $"SELECT count(*) FROM alto.tiering_job j JOIN alto.tier_object t ON t.job_id = j.id WHERE j.id = '{job}' AND j.status = 'awaiting_approval' AND t.state = 'PLANNED'";

        // Only a tenant admin of the job's tenant declines, only a sound request, and only a job that waits; none of these changes anything.
        foreach (var role in new[] { "support", "viewer" })
        {
            using var client = fixture.ClientFor(role);
            await (await client.PostAsJsonAsync(decline, new { jobIds = new[] { job } })).AssertProblemAsync(HttpStatusCode.Forbidden);
        }
        using (var anonymous = fixture.ClientFor(null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync(decline, new { jobIds = new[] { job } })).StatusCode);
        }
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantB}/approvals/decline", new { jobIds = new[] { job } })).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await platformAdmin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantB}/approvals/decline", new { jobIds = new[] { job } })).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await platformAdmin.PostAsJsonAsync($"/api/v1/tenants/{fixture.TenantB}/approvals/decline", new { all = true, hostId = host })).AssertProblemAsync(HttpStatusCode.NotFound);
        foreach (var bad in new object[]
                 {
                     new { }, new { jobIds = Array.Empty<Guid>() }, new { jobIds = new[] { job }, all = true },
                     new { jobIds = new[] { job }, holdDays = 0 }, new { jobIds = new[] { job }, holdDays = 366 },
                     new { jobIds = new[] { job }, reason = "looks fine\u202Eelif" }, new { jobIds = new[] { job }, reason = new string('r', 501) },
                     new { jobIds = new[] { job }, reason = "two\nlines" },
                 })
        {
            await (await admin.PostAsJsonAsync(decline, bad)).AssertProblemAsync(HttpStatusCode.BadRequest);
        }
        await (await admin.PostAsJsonAsync(decline, new { jobIds = new[] { job, Guid.NewGuid() } })).AssertProblemAsync(HttpStatusCode.NotFound);
        // Declined only with the audit entries that say so: a log that will not take them leaves the job waiting and its files planned.
        await using (await AuditLogRefusal.StartAsync(fixture.Database, tenant))
        {
            await (await admin.PostAsJsonAsync(decline, new { jobIds = new[] { job } })).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }
        Assert.Equal(4, await fixture.Database.CountAsync(stillWaiting));

        var declined = await (await admin.PostAsJsonAsync(decline, new { all = true, hostId = host, holdDays = 7, reason = "  legal hold on the archive  " }))
            .AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal([job], declined.GetProperty("declined").EnumerateArray().Select(id => id.GetGuid()));
        Assert.Equal((4, 400000), (declined.GetProperty("files").GetInt32(), declined.GetProperty("bytes").GetInt32()));
        Assert.InRange(declined.GetProperty("heldUntil").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddDays(7).AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(7).AddMinutes(5));
        var listed = (await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/jobs?hostId={host}&status=declined"))).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("items");
        Assert.StartsWith("declined by user:", Assert.Single(listed.EnumerateArray()).GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.EndsWith(": legal hold on the archive", listed[0].GetProperty("lastError").GetString(), StringComparison.Ordinal);
        var entry = await fixture.Database.ScalarAsync<string>(
            $"SELECT details->>'reason' || '|' || (details->>'holdDays') FROM alto.audit_log WHERE action = 'tier.jobs_declined' AND host_id = '{host}' AND actor LIKE 'user:%'");
        Assert.Equal("legal hold on the archive|7", entry);
        Assert.Equal(4, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.declined' AND host_id = '{host}'"));

        // Decided once: it is neither approved nor declined again, and the next plan does not ask for its files.
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/approvals", new { jobIds = new[] { job } })).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await admin.PostAsJsonAsync(decline, new { jobIds = new[] { job } })).AssertProblemAsync(HttpStatusCode.NotFound);
        // A file new since then is planned; the declined ones are not.
        await fixture.Database.ExecuteAsync($"""
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            VALUES ('{tenant}', '{host}', 0, 'new.bin', '/srv/archive/new.bin', 100000, 0, 0, 0, 'bin', 0, 0, now())
            """);
        await (await admin.PostAsync(Relative($"/api/v1/tenants/{tenant}/hosts/{host}/plan?dryRun=false"), null)).AssertJsonAsync(HttpStatusCode.OK);
        var queue = await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/approvals?hostId={host}"))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((1, 1), (queue.GetProperty("jobs").GetInt32(), queue.GetProperty("files").GetInt32()));
        Assert.Equal("/srv/archive/new.bin", queue.GetProperty("waiting")[0].GetProperty("samplePaths")[0].GetString());
        var skipped = await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/tier-objects?hostId={host}&state=skipped"))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(4, skipped.GetProperty("total").GetInt32());

        // The job and its files, to anyone who sees the tenant; through another tenant, or for a job that is none, not found.
        using var viewer = fixture.ClientFor("viewer");
        var read = await (await viewer.GetAsync(Relative($"/api/v1/tenants/{tenant}/jobs/{job}"))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(("declined", 4), (read.GetProperty("status").GetString(), read.GetProperty("fileCount").GetInt32()));
        var files = await (await viewer.GetAsync(Relative($"/api/v1/tenants/{tenant}/tier-objects?jobId={job}"))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(4, files.GetProperty("total").GetInt32());
        Assert.All(files.GetProperty("items").EnumerateArray(), file =>
        {
            Assert.Equal((job, "SKIPPED"), (file.GetProperty("jobId").GetGuid(), file.GetProperty("state").GetString()));
            Assert.InRange(file.GetProperty("nextAttemptAt").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddDays(6), DateTimeOffset.UtcNow.AddDays(8));
        });
        Assert.Equal(0, (await (await viewer.GetAsync(Relative($"/api/v1/tenants/{tenant}/tier-objects?jobId={job}&state=planned"))).AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("total").GetInt32());
        var byState = await (await viewer.GetAsync(Relative($"/api/v1/tenants/{tenant}/tier-objects/summary?jobId={job}"))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(("SKIPPED", 4), (Assert.Single(byState.EnumerateArray()).GetProperty("state").GetString(), byState[0].GetProperty("files").GetInt32()));
        foreach (var path in new[] { $"jobs/{job}", $"tier-objects?jobId={job}", $"tier-objects/summary?jobId={job}" })
        {
            await (await platformAdmin.GetAsync(Relative($"/api/v1/tenants/{fixture.TenantB}/{path}"))).AssertProblemAsync(HttpStatusCode.NotFound);
        }
        await (await viewer.GetAsync(Relative($"/api/v1/tenants/{tenant}/jobs/{Guid.NewGuid()}"))).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await viewer.GetAsync(Relative($"/api/v1/tenants/{tenant}/tier-objects?jobId={Guid.NewGuid()}"))).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await viewer.GetAsync(Relative($"/api/v1/tenants/{tenant}/tier-objects?jobId=not-a-guid"))).AssertProblemAsync(HttpStatusCode.BadRequest);

        // Declined by mistake: released before the hold is over, the files are planned again at once.
        var released = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/hosts/{host}/release-held", new { directory = "/srv/archive" })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(4, released.GetProperty("files").GetInt32());
        Assert.Equal(4, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'tier.released' AND host_id = '{host}' AND actor LIKE 'user:%'"));
        await Eventually.WaitAsync(async () => (await (await admin.GetAsync(Relative($"/api/v1/tenants/{tenant}/approvals?hostId={host}"))).AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("files").GetInt32() == 5, "the released files planned again");
    }

    [Fact]
    public async Task PlanRunsAreLimitedPerTenantAndCallersWhoCannotSeeItSpendABudgetOfTheirOwn()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "limit-" + Guid.NewGuid().ToString("N")[..8]);
        // A viewer of another tenant, of their own (the shared viewer's budget is other tests').
        var username = $"outsider-{Guid.NewGuid():N}"[..30];
        (await admin.PostAsJsonAsync("/api/v1/users", new { username, password = GatewayFixture.UserPassword, role = "viewer", tenantIds = new[] { fixture.TenantA } }))
            .EnsureSuccessStatusCode();
        using var outsider = fixture.ClientFor(null);
        outsider.DefaultRequestHeaders.Authorization = new("Bearer", await fixture.LoginAsync(username, GatewayFixture.UserPassword));

        for (var i = 0; i < 25; i++)
        {
            var refused = await outsider.PostAsync(Relative($"/api/v1/tenants/{tenant}/plan"), null);
            Assert.Contains(refused.StatusCode, new[] { HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests });
        }
        for (var i = 0; i < 20; i++)
        {
            await (await admin.PostAsync(Relative($"/api/v1/tenants/{tenant}/plan?dryRun=true"), null)).AssertJsonAsync(HttpStatusCode.OK);
        }
        var limited = await admin.PostAsync(Relative($"/api/v1/tenants/{tenant}/plan?dryRun=true"), null);

        var problem = await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Contains("try again", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) is > 0 and <= 60);
    }
}
