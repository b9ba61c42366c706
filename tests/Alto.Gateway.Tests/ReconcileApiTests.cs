using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Alto.GrainInterfaces.Hosts;
using Alto.Scanning;
using Alto.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Alto.Gateway.Tests;

/// <summary>
/// The reconciliation API as the listing agent and the admins meet it: parts of a listing are
/// taken in order after the run's cursor, once each; a part cut off by a crash is resumed from
/// the cursor and the run ends with the findings the whole listing implies; bad parts, and any
/// other host or tenant, change nothing.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ReconcileApiTests(GatewayFixture fixture) : IAsyncLifetime
{
    private IClusterClient Cluster => fixture.Services.GetRequiredService<IClusterClient>();

    private readonly StandInSessions _sessions = new(fixture.Services.GetRequiredService<IClusterClient>());

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _sessions.CloseAllAsync();

    private Task<StandInSession> ConnectAsync(PlannedHost host, string os = "linux", string[]? capabilities = null) =>
        _sessions.ConnectAsync(host, os, capabilities);

    private Task<(PlannedHost Host, Guid TargetId, string[] Locators)> StubbedHostAsync(int files = 4, bool windows = false) =>
        PlannedHost.StubbedAsync(fixture, files, windows);

    private static string Locator(Guid tenantId, string content) => PlannedHost.Locator(tenantId, content);

    private static object Part(string? after, bool finished, params (string Key, long Length)[] objects) =>
        new { after, finished, objects = objects.Select(o => new { key = o.Key, length = o.Length, modified = DateTimeOffset.UtcNow.AddDays(-1) }).ToArray() };

    /// <summary>Sends the last part of a listing (answered "listed") and waits for the run to reach its census (or its end).</summary>
    private async Task<string> LastPartAsync(PlannedHost host, Guid runId, object part)
    {
        using var agent = host.AgentClient(fixture);
        var receipt = await (await agent.PostAsJsonAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/listing", UriKind.Relative), part)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("listed", receipt.GetProperty("status").GetString());
        return await StatusAfterAsync(runId, "listing");
    }

    /// <summary>The run's status once it has left <paramref name="passing"/> (work after an answer runs on the run's timer).</summary>
    private async Task<string> StatusAfterAsync(Guid runId, string passing)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var status = await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.reconcile_run WHERE id = '{runId}'");
            if (status != passing)
            {
                return status;
            }
            Assert.True(DateTime.UtcNow < deadline, $"the run stayed {passing}");
            await Task.Delay(50);
        }
    }

    private async Task<Guid> StartAsync(PlannedHost host, Guid targetId, object? body = null)
    {
        using var admin = fixture.ClientFor("platform-admin");
        var run = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{host.TenantId}/targets/{targetId}/reconcile", body ?? new { depth = "list" }))
            .AssertJsonAsync(HttpStatusCode.Accepted);
        return run.GetProperty("runId").GetGuid();
    }

    /// <summary>
    /// Answers the run's census as the host's agent: the paths come in the census commands the host
    /// sent down the session; each holds its record's stub, unless <paramref name="found"/> says otherwise.
    /// </summary>
    private async Task<string> CensusAsync(PlannedHost host, StandInSession session, Guid runId, Func<string, object?>? found = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!session.Commands.Any(command => command.Kind == AgentCommandKind.Census && command.RunId == runId))
        {
            Assert.True(DateTime.UtcNow < deadline, "no census command came down the session");
            await Task.Delay(50);
        }
        var paths = session.Commands.Where(command => command.Kind == AgentCommandKind.Census && command.RunId == runId)
            .SelectMany(command => command.Paths.Select(path => (path, escaped: command.Format == AgentCommand.EscapedPaths))).ToList();
        var facts = new List<object>();
        foreach (var (path, escaped) in paths)
        {
            if (found?.Invoke(path) is { } fact)
            {
                facts.Add(fact);
                continue;
            }
            await using var read = fixture.Database.DataSource.CreateCommand(
                $"SELECT locator, hash, target_id FROM alto.tier_object WHERE host_id = '{host.HostId}' AND full_path = '{path}'");
            await using var reader = await read.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync(), $"the census asked about {path}, which has no record");
            facts.Add(new { path, found = "stub", locator = reader.GetString(0), sha256 = reader.GetString(1), targetId = reader.GetGuid(2), pathEscaped = escaped });
        }
        using var agent = host.AgentClient(fixture);
        var receipt = await (await agent.PostAsJsonAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/stubs", UriKind.Relative), new { facts })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("classifying", receipt.GetProperty("status").GetString());
        return await StatusAfterAsync(runId, "census");
    }

    /// <summary>Waits until the session has received <paramref name="count"/> commands of the kind for the run.</summary>
    private static async Task CommandAsync(StandInSession session, AgentCommandKind kind, Guid runId, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (session.Commands.Count(command => command.Kind == kind && command.RunId == runId) < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{count} {kind} command(s) for run {runId} did not come down the session");
            await Task.Delay(50);
        }
        Assert.Equal(count, session.Commands.Count(command => command.Kind == kind && command.RunId == runId));
    }

    /// <summary>Waits until <paramref name="sql"/> counts <paramref name="expected"/> (work after an answer runs on the run's timer, or one-way).</summary>
    private async Task CountEventuallyAsync(string sql, long expected, string otherwise)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await fixture.Database.CountAsync(sql) != expected)
        {
            Assert.True(DateTime.UtcNow < deadline, otherwise);
            await Task.Delay(50);
        }
    }

    private Task<string> RunStateAsync(Guid runId) =>
        fixture.Database.ScalarAsync<string>($"SELECT status || '/' || coalesce(cursor_key, '-') || '/' || objects_listed || '/' || batches FROM alto.reconcile_run WHERE id = '{runId}'");

    [Fact]
    public async Task APartCutOffIsResumedFromTheCursorAndTheRunEndsWithTheFindingsOfTheWholeListing()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        var session = await ConnectAsync(host);
        var runId = await StartAsync(host, targetId);
        Assert.Contains(session.Commands, command => command.Kind == AgentCommandKind.Reconcile && command.RunId == runId);
        var orphan = Locator(host.TenantId, "an object no record names");
        // The listing the agent sees: f0's object is gone, f1's is short, f2 and f3 are whole, and one object is nobody's.
        var listing = new[] { (locators[1], 400L), (locators[2], 1000L), (locators[3], 1000L), (orphan, 25L) }.OrderBy(o => o.Item1, StringComparer.Ordinal).ToArray();
        using var agent = host.AgentClient(fixture);

        var run = await (await agent.GetAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((targetId, "list", "listing"), (run.GetProperty("targetId").GetGuid(), run.GetProperty("depth").GetString(), run.GetProperty("status").GetString()));
        Assert.False(run.TryGetProperty("cursor", out var none) && none.ValueKind != JsonValueKind.Null, "a new run starts at the beginning");
        var first = await (await agent.PostAsJsonAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/listing", UriKind.Relative), Part(null, false, listing[..2])))
            .AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(listing[1].Item1, first.GetProperty("cursor").GetString());
        // The answer was lost and the part comes again: taken once.
        var again = await (await agent.PostAsJsonAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/listing", UriKind.Relative), Part(null, false, listing[..2])))
            .AssertJsonAsync(HttpStatusCode.OK);
        Assert.True(again.GetProperty("duplicate").GetBoolean());
        Assert.Equal($"listing/{listing[1].Item1}/2/1", await RunStateAsync(runId));
        // A part that does not follow the cursor is refused: the agent must resume after it.
        await (await agent.PostAsJsonAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/listing", UriKind.Relative), Part(listing[0].Item1, false, listing[2..3])))
            .AssertProblemAsync(HttpStatusCode.Conflict);

        // The agent crashed; started again, it reads the cursor and lists the rest after it.
        var resumed = await (await agent.GetAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        var cursor = resumed.GetProperty("cursor").GetString();
        Assert.Equal(listing[1].Item1, cursor);
        // The listing is whole; the host's agent is asked what is at its stubs' paths, and the run ends with its answer.
        Assert.Equal("census", await LastPartAsync(host, runId, Part(cursor, true, listing[2..])));
        Assert.Equal("completed", await CensusAsync(host, session, runId));

        using var admin = fixture.ClientFor("platform-admin");
        var findings = (await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}/findings", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("items").EnumerateArray().Select(f => $"{f.GetProperty("class").GetString()}:{f.GetProperty("kind").GetString()}:{f.GetProperty("objectKey").GetString()}")
            .Order().ToArray();
        Assert.Equal(new[] { $"missing:absent:{locators[0]}", $"missing:short:{locators[1]}", $"orphan:unreferenced:{orphan}" }.Order(), findings);
        Assert.Equal(2, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'LOST'"));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_object WHERE run_id = '{runId}'"));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_stub WHERE run_id = '{runId}'"));
        var view = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((4L, 2L, 1L), (view.GetProperty("objectsListed").GetInt64(), view.GetProperty("counts").GetProperty("missing").GetInt64(),
            view.GetProperty("counts").GetProperty("orphan").GetInt64()));
        // The part that ended the run, sent again after a lost answer, changes nothing.
        Assert.True((await (await agent.PostAsJsonAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/listing", UriKind.Relative), Part(cursor, true, listing[2..])))
            .AssertJsonAsync(HttpStatusCode.OK)).GetProperty("duplicate").GetBoolean());
        Assert.Equal(3, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_finding WHERE run_id = '{runId}'"));
    }

    /// <summary>
    /// As if the run had heard nothing for <paramref name="silentFor"/> (and, with <paramref name="hostGone"/>,
    /// the host no heartbeat for as long), and its watch then looked (the reminder service's tick).
    /// </summary>
    private async Task SilenceAndLookAsync(Guid runId, TimeSpan silentFor, PlannedHost? hostGone = null)
    {
        await fixture.Database.ExecuteAsync($"UPDATE alto.reconcile_run SET updated_at = now() - interval '{(int)silentFor.TotalSeconds} seconds' WHERE id = '{runId}'");
        if (hostGone is not null)
        {
            await fixture.Database.ExecuteAsync(
                $"UPDATE alto.host SET status = 'offline', last_heartbeat_at = now() - interval '{(int)silentFor.TotalSeconds} seconds' WHERE id = '{hostGone.HostId}'");
        }
        var watch = Cluster.GetGrain<GrainInterfaces.Reconcile.IReconcileRunGrain>(runId).AsReference<IRemindable>();
        await watch.ReceiveReminder(Grains.Reconcile.ReconcileRunGrain.SilenceWatch, new Orleans.Runtime.TickStatus(DateTime.UtcNow, Grains.Reconcile.ReconcileRunGrain.SilenceWatchPeriod, DateTime.UtcNow));
    }

    private Task<long> SilenceWatchesAsync(Guid runId) => fixture.Database.CountAsync(
        $"SELECT count(*) FROM orleans.reminder WHERE reminder_name = '{Grains.Reconcile.ReconcileRunGrain.SilenceWatch}' AND (grain_id LIKE '%{runId:N}%' OR grain_id LIKE '%{runId}%')");

    [Fact]
    public async Task ACensusWhoseHostIsGoneEndsOnItsOwnWithThoseStubsUnchecked()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        var session = await ConnectAsync(host);
        var runId = await StartAsync(host, targetId);
        // The run is watched from its start, by a reminder the cluster keeps.
        Assert.Equal(1, await SilenceWatchesAsync(runId));
        var listing = locators.Select(locator => (locator, 1000L)).OrderBy(o => o.locator, StringComparer.Ordinal).ToArray();
        Assert.Equal("census", await LastPartAsync(host, runId, Part(null, true, listing)));
        await CommandAsync(session, AgentCommandKind.Census, runId, 1);

        // A path holding a NUL names no file: the report is refused, and nothing of it taken.
        using (var reporter = host.AgentClient(fixture))
        {
            var refused = await (await reporter.PostAsJsonAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/stubs", UriKind.Relative),
                new { facts = new[] { new { path = "/lucid/f00.bin\0", found = "absent" } } })).AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains("facts[0].path", refused.GetRawText(), StringComparison.Ordinal);
        }

        // Heard from a while ago, but not long enough: the run waits on, for all four answers.
        var waiting = $"SELECT status || '/' || (SELECT count(*) FROM alto.reconcile_stub s WHERE s.run_id = r.id AND s.found IS NULL) FROM alto.reconcile_run r WHERE id = '{runId}'";
        await SilenceAndLookAsync(runId, Grains.Reconcile.ReconcileRunGrain.SilentAfter - TimeSpan.FromMinutes(1));
        Assert.Equal("census/4", await fixture.Database.ScalarAsync<string>(waiting));

        // Silent for longer, but the host still sends heartbeats: it is at work, and is waited for.
        var longer = Grains.Reconcile.ReconcileRunGrain.SilentAfter + TimeSpan.FromMinutes(1);
        await SilenceAndLookAsync(runId, longer);
        Assert.Equal("census/4", await fixture.Database.ScalarAsync<string>(waiting));

        // The host is gone and never answers: the run goes on without it and ends.
        await SilenceAndLookAsync(runId, longer, hostGone: host);
        Assert.Equal("completed", await StatusAfterAsync(runId, "census"));
        using var admin = fixture.ClientFor("platform-admin");
        var view = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((4L, 0L, 0L), (view.GetProperty("counts").GetProperty("unchecked").GetInt64(), view.GetProperty("counts").GetProperty("missing").GetInt64(),
            view.GetProperty("counts").GetProperty("drift").GetInt64()));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_stub WHERE run_id = '{runId}'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'reconcile.completed' AND details->>'runId' = '{runId}' AND (details->'counts'->>'unchecked')::int = 4"));
        Assert.Equal(0, await SilenceWatchesAsync(runId));

        // The agent comes back and answers after all: the run is over, and nothing changes.
        using var agent = host.AgentClient(fixture);
        var late = await (await agent.PostAsJsonAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/stubs", UriKind.Relative),
            new { facts = new[] { new { path = "/lucid/f00.bin", found = "absent" } } })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("completed", late.GetProperty("status").GetString());
        Assert.Equal(4, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'STUBBED'"));
    }

    [Fact]
    public async Task AListingWhoseHostIsGoneEndsOnItsOwnAsFailedSayingSinceWhen()
    {
        var (host, targetId, _) = await StubbedHostAsync();
        await ConnectAsync(host);
        var runId = await StartAsync(host, targetId);
        await SilenceAndLookAsync(runId, TimeSpan.FromMinutes(1));
        Assert.Equal("listing", await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.reconcile_run WHERE id = '{runId}'"));

        // A deep listing of large objects may send no part for longer: while its host sends heartbeats, it is waited for.
        var longer = Grains.Reconcile.ReconcileRunGrain.SilentAfter + TimeSpan.FromMinutes(1);
        await SilenceAndLookAsync(runId, longer);
        Assert.Equal("listing", await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.reconcile_run WHERE id = '{runId}'"));

        await SilenceAndLookAsync(runId, longer, hostGone: host);
        using var admin = fixture.ClientFor("platform-admin");
        var view = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("failed", view.GetProperty("status").GetString());
        Assert.Matches($"^its listing agent \\(host {host.HostId}\\) sent nothing since .+, and the host has sent no heartbeat for 15 minutes$", view.GetProperty("error").GetString());
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'reconcile.failed' AND details->>'runId' = '{runId}'"));
        Assert.Equal(0, await SilenceWatchesAsync(runId));
        // The target is free for the next run once an agent is back.
        await ConnectAsync(host);
        await StartAsync(host, targetId);
    }

    /// <summary>
    /// An object's problem and a listing's failure are the store's or the system's words, and may
    /// hold a NUL (an error body): it is kept as U+FFFD, and the part taken. Before, PostgreSQL
    /// refused the write and the agent got 500 for its part.
    /// </summary>
    [Fact]
    public async Task AProblemOrFailureHoldingANulIsKeptReadableAndThePartTaken()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        await ConnectAsync(host);
        var runId = await StartAsync(host, targetId);
        using var agent = host.AgentClient(fixture);
        var url = new Uri($"/api/v1/agents/reconcile-runs/{runId}/listing", UriKind.Relative);
        var first = locators.Order(StringComparer.Ordinal).First();
        var taken = await (await agent.PostAsJsonAsync(url, new { finished = false, objects = new[] { new { key = first, length = 1000, problem = "read \0 failed" } } }))
            .AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(first, taken.GetProperty("cursor").GetString());
        await (await agent.PostAsJsonAsync(url, new { after = first, finished = false, objects = Array.Empty<object>(), failure = "the share \0 is gone" }))
            .AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("failed:the agent could not finish the listing: the share \uFFFD is gone",
            await fixture.Database.ScalarAsync<string>($"SELECT status || ':' || error FROM alto.reconcile_run WHERE id = '{runId}'"));
    }

    [Fact]
    public async Task BadPartsAndEveryOtherHostOrTenantChangeNothing()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        var (stranger, strangerTarget, strangerLocators) = await StubbedHostAsync();
        await ConnectAsync(host);
        var runId = await StartAsync(host, targetId);
        using var agent = host.AgentClient(fixture);
        var sorted = locators.Order(StringComparer.Ordinal).ToArray();
        var url = new Uri($"/api/v1/agents/reconcile-runs/{runId}/listing", UriKind.Relative);

        var unordered = await (await agent.PostAsJsonAsync(url, Part(null, false, (sorted[1], 1000), (sorted[0], 1000)))).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("ascending", unordered.GetRawText(), StringComparison.Ordinal);
        await (await agent.PostAsJsonAsync(url, Part(null, false, (strangerLocators[0], 1000)))).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await agent.PostAsJsonAsync(url, Part(null, false, ($"{host.TenantId:N}/incoming/{new string('a', 64)}", 1)))).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await agent.PostAsJsonAsync(url, Part(null, false, (sorted[0], -1)))).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await agent.PostAsJsonAsync(url, new { objects = new[] { new { length = 3 } } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        // A key holding a NUL names no object (and PostgreSQL could not store it: the part had failed with 500).
        var nulKey = $"{host.TenantId:N}/a\0b/{new string('a', 64)}";
        Assert.Contains("objects[0].key", (await (await agent.PostAsJsonAsync(url, Part(null, false, (nulKey, 1)))).AssertProblemAsync(HttpStatusCode.BadRequest)).GetRawText(),
            StringComparison.Ordinal);
        var tooMany = Enumerable.Range(0, ListingPartFormat.MaxEntries + 1).Select(i => ((string)Locator(host.TenantId, $"x{i}"), 1L)).OrderBy(o => o.Item1, StringComparer.Ordinal).ToArray();
        await (await agent.PostAsJsonAsync(url, Part(null, false, tooMany))).AssertProblemAsync(HttpStatusCode.BadRequest);
        var notJson = await (await agent.PostAsync(url, new StringContent("{\"objects\": [", Encoding.UTF8, "application/json"))).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("not valid JSON", notJson.GetRawText(), StringComparison.Ordinal);
        await (await agent.PostAsync(url, new StringContent("key,length", Encoding.UTF8, "text/csv"))).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);

        // Packed parts, as the agent sends them: cut short, with bytes left over, with a key that is not UTF-8, or too many.
        var packed = ListingPartFormat.Write(new ListingPart(null, [new ListingEntry(sorted[0], 1000, DateTimeOffset.UtcNow, null, false)], false, null));
        foreach (var broken in new[] { packed[..^3], [.. packed, 0], NotUtf8(packed, sorted[0]), TooMany(packed) })
        {
            using var body = new ByteArrayContent(broken);
            body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(ListingPartFormat.ContentType);
            var refused = await (await agent.PostAsync(url, body)).AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains("not a listing part", refused.GetRawText(), StringComparison.Ordinal);
        }
        Assert.Equal("listing/-/0/0", await RunStateAsync(runId));

        // Another tenant's agent sees no such run, and cannot feed it.
        using var other = stranger.AgentClient(fixture);
        await (await other.GetAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await other.PostAsJsonAsync(url, Part(null, true, (sorted[0], 1000)))).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("listing/-/0/0", await RunStateAsync(runId));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'LOST'"));

        // Admins: one run per target at a time, only their own targets, and the request checked.
        using var admin = fixture.ClientFor("platform-admin");
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{host.TenantId}/targets/{targetId}/reconcile", new { depth = "list" })).AssertProblemAsync(HttpStatusCode.Conflict);
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{host.TenantId}/targets/{strangerTarget}/reconcile", new { })).AssertProblemAsync(HttpStatusCode.NotFound);
        var invalid = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{stranger.TenantId}/targets/{strangerTarget}/reconcile",
            new { depth = "thorough", samplePercent = 0, requestsPerSecond = 0 })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(new[] { "depth", "requestsPerSecond", "samplePercent" }, invalid.GetProperty("errors").EnumerateObject().Select(e => e.Name).Order());
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{stranger.TenantId}/targets/{strangerTarget}/reconcile", new { depth = "head", samplePercent = 10 }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await admin.GetAsync(new Uri($"/api/v1/tenants/{stranger.TenantId}/reconcile-runs/{runId}", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}/findings?class=lost", UriKind.Relative))).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_run WHERE tenant_id = '{stranger.TenantId}'"));

        // The run list filtered by target: the tenant's own target lists its run; another tenant's
        // target, or none at all, is not found rather than an empty list.
        var mine = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{host.TenantId}/reconcile-runs?targetId={targetId}");
        Assert.Equal(runId, Assert.Single(mine.GetProperty("items").EnumerateArray()).GetProperty("id").GetGuid());
        foreach (var notOurs in new[] { strangerTarget, Guid.NewGuid() })
        {
            var missing = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs?targetId={notOurs}", UriKind.Relative)))
                .AssertProblemAsync(HttpStatusCode.NotFound);
            Assert.Contains($"storage target {notOurs} not found", missing.GetRawText(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ARunThatFindsMostStubsMissingMarksNoneLostUntilTheAdminAllowsIt()
    {
        // Twelve stubs and an empty listing: a share mounted nowhere, or the wrong bucket.
        var (host, targetId, _) = await StubbedHostAsync(files: 12);
        var session = await ConnectAsync(host);

        var held = await StartAsync(host, targetId);
        await LastPartAsync(host, held, Part(null, true));
        await CensusAsync(host, session, held);
        Assert.Equal(12, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_finding WHERE run_id = '{held}' AND class = 'missing' AND repair LIKE 'none: held back, 12 of 12 stubs%'"));
        Assert.Equal(12, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'STUBBED'"));

        var allowed = await StartAsync(host, targetId, new { depth = "list", allowMassLoss = true });
        await LastPartAsync(host, allowed, Part(null, true));
        await CensusAsync(host, session, allowed);
        Assert.Equal(12, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'LOST'"));
        Assert.Equal(12, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_finding WHERE run_id = '{allowed}' AND repair = 'marked LOST'"));
    }

    [Fact]
    public async Task TheCensusClosesRecordsOfDeletedStubsRecallsReplacedOnesAndReportsStrangersAndRefusesPathsNotAsked()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        var (stranger, _, _) = await StubbedHostAsync();
        var session = await ConnectAsync(host);
        var runId = await StartAsync(host, targetId);
        using var agent = host.AgentClient(fixture);
        var all = locators.Order(StringComparer.Ordinal).Select(l => (l, 1000L)).ToArray();
        Assert.Equal("census", await LastPartAsync(host, runId, Part(null, true, all)));

        // Paths the run did not ask about, bad facts, and another tenant's agent change nothing.
        var url = new Uri($"/api/v1/agents/reconcile-runs/{runId}/stubs", UriKind.Relative);
        await (await agent.PostAsJsonAsync(url, new { facts = new[] { new { path = "/lucid/never-asked.bin", found = "file" } } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await agent.PostAsJsonAsync(url, new { facts = new[] { new { path = "/lucid/f00.bin", found = "gone" } } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await agent.PostAsJsonAsync(url, new { facts = new[] { new { path = "/lucid/f00.bin", found = "stub" } } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        using (var other = stranger.AgentClient(fixture))
        {
            await (await other.PostAsJsonAsync(url, new { facts = new[] { new { path = "/lucid/f00.bin", found = "absent" } } })).AssertProblemAsync(HttpStatusCode.NotFound);
        }
        Assert.Equal(4, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_stub WHERE run_id = '{runId}' AND found IS NULL"));

        // f00's stub was deleted, f01 is a real file again, f02's stub names another object; f03 is as recorded.
        var done = await CensusAsync(host, session, runId, path => path switch
        {
            "/lucid/f00.bin" => new { path, found = "absent" },
            "/lucid/f01.bin" => new { path, found = "file" },
            "/lucid/f02.bin" => new { path, found = "stub", locator = locators[3], sha256 = locators[3][^64..], targetId },
            _ => null,
        });
        Assert.Equal("completed", done);
        using var admin = fixture.ClientFor("platform-admin");
        var drift = (await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}/findings?class=drift", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("items").EnumerateArray().ToDictionary(f => f.GetProperty("path").GetString()!, f => f.GetProperty("kind").GetString());
        Assert.Equal(new Dictionary<string, string?> { ["/lucid/f00.bin"] = "stub_deleted", ["/lucid/f01.bin"] = "stub_replaced", ["/lucid/f02.bin"] = "binding_mismatch" }, drift);
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND full_path = '/lucid/f00.bin'"));
        Assert.Equal("RECALLED", await fixture.Database.ScalarAsync<string>($"SELECT state FROM alto.tier_object WHERE host_id = '{host.HostId}' AND full_path = '/lucid/f01.bin'"));
        Assert.Equal(2, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'STUBBED'"));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{host.TenantId}' AND action = 'tier.closed'"));
        // f00's object lost its record: an orphan now (young, so kept); f01's is still its RECALLED record's.
        var orphans = (await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}/findings?class=orphan", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("items").EnumerateArray().Select(f => f.GetProperty("objectKey").GetString()).ToArray();
        Assert.Equal(new[] { locators[0] }, orphans.Select(key => key!));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_finding WHERE run_id = '{runId}' AND class = 'missing'"));
    }

    /// <summary>
    /// An admin cancels a run still going: it ends as cancelled, saying who cancelled it (the API,
    /// and its audit entry written with the end), the target is free for the next run, and a part
    /// its agent sends afterwards is answered "cancelled" and taken as nothing — which is what stops
    /// the agent's listing. A second cancellation is a conflict; the run is not found from another tenant.
    /// </summary>
    [Fact]
    public async Task ARunCancelledByAnAdminEndsSayingWhoAndItsAgentIsToldAtItsNextPart()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        var (other, _, _) = await StubbedHostAsync(files: 1);
        await ConnectAsync(host);
        var runId = await StartAsync(host, targetId);
        using var agent = host.AgentClient(fixture);
        var listing = new Uri($"/api/v1/agents/reconcile-runs/{runId}/listing", UriKind.Relative);
        var sorted = locators.Order(StringComparer.Ordinal).ToArray();
        var first = await (await agent.PostAsJsonAsync(listing, Part(null, false, (sorted[0], 96)))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("listing", first.GetProperty("status").GetString());
        using var admin = fixture.ClientFor("platform-admin");

        await (await admin.PostAsync(new Uri($"/api/v1/tenants/{other.TenantId}/reconcile-runs/{runId}/cancel", UriKind.Relative), null))
            .AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("listing", await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.reconcile_run WHERE id = '{runId}'"));

        var cancelUrl = new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}/cancel", UriKind.Relative);
        var cancelled = await (await admin.PostAsync(cancelUrl, null)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        var shown = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}");
        Assert.Equal("cancelled", shown.GetProperty("status").GetString());
        Assert.StartsWith("cancelled by user:", shown.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.NotEqual(JsonValueKind.Null, shown.GetProperty("finishedAt").ValueKind);
        Assert.Equal(1, await fixture.Database.CountAsync($"""
            SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{host.TenantId}' AND action = 'reconcile.cancelled' AND actor LIKE 'user:%'
              AND outcome = 'success' AND details->>'runId' = '{runId}' AND (details->'counts'->>'objects')::int = 1
            """));

        var late = await (await agent.PostAsJsonAsync(listing, Part(sorted[0], false, (sorted[1], 96)))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("cancelled", late.GetProperty("status").GetString());
        Assert.Equal("cancelled/1", await fixture.Database.ScalarAsync<string>($"SELECT status || '/' || objects_listed FROM alto.reconcile_run WHERE id = '{runId}'"));
        await (await admin.PostAsync(cancelUrl, null)).AssertProblemAsync(HttpStatusCode.Conflict);
        // The target is free at once: no 15 minutes' wait for a silent run.
        await StartAsync(host, targetId);
    }

    /// <summary>
    /// A run cancelled while its host's agent is away: what it had queued for that host (the
    /// listing, the census of its stubs) is not handed to the agent that comes back, which would
    /// stat every path only to be told the run is over; what else waits for the host still is.
    /// </summary>
    [Fact]
    public async Task ARunEndedWhileItsAgentWasAwayIsNotHandedToTheAgentThatComesBack()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        var session = await ConnectAsync(host);
        var runId = await StartAsync(host, targetId);
        var all = locators.Order(StringComparer.Ordinal).Select(l => (l, 1000L)).ToArray();
        Assert.Equal("census", await LastPartAsync(host, runId, Part(null, true, all)));
        await CommandAsync(session, AgentCommandKind.Census, runId, 1);
        await _sessions.DisconnectAsync(session);
        using var admin = fixture.ClientFor("platform-admin");
        await (await admin.PostAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}/cancel", UriKind.Relative), null))
            .AssertJsonAsync(HttpStatusCode.OK);
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{host.TenantId}/hosts/{host.HostId}/scan", new { })).AssertJsonAsync(HttpStatusCode.Accepted);
        Assert.Equal(3, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.agent_command WHERE host_id = '{host.HostId}'"));

        var back = await ConnectAsync(host);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!back.Commands.Any(command => command.Kind == AgentCommandKind.Scan))
        {
            Assert.True(DateTime.UtcNow < deadline, "the scan queued meanwhile did not come down the new session");
            await Task.Delay(50);
        }
        Assert.DoesNotContain(back.Commands, command => command.RunId == runId);
        Assert.Equal("scan", await fixture.Database.ScalarAsync<string>($"SELECT string_agg(kind, ',') FROM alto.agent_command WHERE host_id = '{host.HostId}'"));
        var shown = await (await admin.GetAsync($"/api/v1/tenants/{host.TenantId}/hosts/{host.HostId}")).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(1, shown.GetProperty("pendingCommands").GetInt32());
    }

    /// <summary>
    /// A run, a schedule and their audit entries are written in one transaction: when the audit log
    /// will not take the entry (<see cref="AuditLogRefusal"/>), starting or ending a run, or setting
    /// or removing a schedule, fails and changes nothing. Before, the change was made and the answer
    /// said it had not (and the end of a run was never audited: a retry found it over).
    /// </summary>
    [Fact]
    public async Task ARunOrScheduleChangesOnlyWithItsAuditEntry()
    {
        var (host, targetId, _) = await StubbedHostAsync();
        await ConnectAsync(host);
        using var admin = fixture.ClientFor("platform-admin");
        await using (await AuditLogRefusal.StartAsync(fixture.Database, host.TenantId))
        {
            await (await admin.PostAsJsonAsync($"/api/v1/tenants/{host.TenantId}/targets/{targetId}/reconcile", new { depth = "list" }))
                .AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_run WHERE target_id = '{targetId}'"));
        var runId = await StartAsync(host, targetId);
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{host.TenantId}' AND action = 'reconcile.started' AND details->>'runId' = '{runId}'"));
        // It ends only with the entry that says how: while the log refuses it, the run goes on.
        var run = Cluster.GetGrain<GrainInterfaces.Reconcile.IReconcileRunGrain>(runId);
        await using (await AuditLogRefusal.StartAsync(fixture.Database, host.TenantId))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => run.AbandonAsync(null, "the test is done with it"));
        }
        Assert.Equal("listing", await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.reconcile_run WHERE id = '{runId}'"));
        await run.AbandonAsync(null, "the test is done with it");
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'reconcile.failed' AND details->>'runId' = '{runId}' AND details->>'error' = 'the test is done with it'"));

        var url = $"/api/v1/tenants/{host.TenantId}/targets/{targetId}/reconcile-schedule";
        var reminders = $"SELECT count(*) FROM orleans.reminder WHERE reminder_name = 'reconcile' AND (grain_id LIKE '%{targetId:N}%' OR grain_id LIKE '%{targetId}%')";
        var entries = $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{host.TenantId}' AND action IN ('reconcile.scheduled', 'reconcile.unscheduled')";

        await using (await AuditLogRefusal.StartAsync(fixture.Database, host.TenantId))
        {
            await (await admin.PutAsJsonAsync(url, new { everyHours = 24 })).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }
        await (await admin.GetAsync(new Uri(url, UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(0, await fixture.Database.CountAsync(entries));
        // Its reminder was made before the row that failed: its first tick finds no schedule and goes.
        var schedule = Cluster.GetGrain<GrainInterfaces.Reconcile.IReconcileScheduleGrain>(targetId).AsReference<IRemindable>();
        await schedule.ReceiveReminder("reconcile", new Orleans.Runtime.TickStatus(DateTime.UtcNow, TimeSpan.FromHours(24), DateTime.UtcNow));
        Assert.Equal(0, await fixture.Database.CountAsync(reminders));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_run WHERE target_id = '{targetId}' AND requested_by = 'schedule'"));

        await (await admin.PutAsJsonAsync(url, new { everyHours = 24 })).AssertJsonAsync(HttpStatusCode.OK);
        await using (await AuditLogRefusal.StartAsync(fixture.Database, host.TenantId))
        {
            await (await admin.DeleteAsync(new Uri(url, UriKind.Relative))).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }
        await (await admin.GetAsync(new Uri(url, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((1L, 1L), (await fixture.Database.CountAsync(reminders), await fixture.Database.CountAsync(entries)));
    }

    [Fact]
    public async Task ATargetIsReconciledOnItsScheduleAndATickWhileARunIsGoingIsSkippedWithItsReason()
    {
        var (host, targetId, _) = await StubbedHostAsync();
        var (_, strangerTarget, _) = await StubbedHostAsync();
        await ConnectAsync(host);
        using var admin = fixture.ClientFor("platform-admin");
        var url = $"/api/v1/tenants/{host.TenantId}/targets/{targetId}/reconcile-schedule";
        var bad = await (await admin.PutAsJsonAsync(url, new { everyHours = 0, depth = "list", samplePercent = 5 })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(new[] { "everyHours", "samplePercent" }, bad.GetProperty("errors").EnumerateObject().Select(e => e.Name).Order());
        await (await admin.PutAsJsonAsync($"/api/v1/tenants/{host.TenantId}/targets/{strangerTarget}/reconcile-schedule", new { everyHours = 24 }))
            .AssertProblemAsync(HttpStatusCode.NotFound);
        await (await admin.GetAsync(new Uri(url, UriKind.Relative))).AssertProblemAsync(HttpStatusCode.NotFound);

        var set = await (await admin.PutAsJsonAsync(url, new { everyHours = 24, depth = "deep", samplePercent = 5 })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((24, "deep", 5), (set.GetProperty("schedule").GetProperty("everyHours").GetInt32(), set.GetProperty("schedule").GetProperty("depth").GetString(),
            set.GetProperty("schedule").GetProperty("samplePercent").GetInt32()));
        // The reminder that will start it, persisted with the cluster's reminders.
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM orleans.reminder WHERE reminder_name = 'reconcile' AND (grain_id LIKE '%{targetId:N}%' OR grain_id LIKE '%{targetId}%') AND period_ms = {(long)TimeSpan.FromHours(24).TotalMilliseconds}"));

        // A tick (as the reminder service delivers it) starts a run with the schedule's settings; the next, while it is going, is skipped and says why.
        var schedule = Cluster.GetGrain<GrainInterfaces.Reconcile.IReconcileScheduleGrain>(targetId).AsReference<IRemindable>();
        await schedule.ReceiveReminder("reconcile", new Orleans.Runtime.TickStatus(DateTime.UtcNow, TimeSpan.FromHours(24), DateTime.UtcNow));
        var runId = await fixture.Database.ScalarAsync<Guid>($"SELECT id FROM alto.reconcile_run WHERE target_id = '{targetId}' AND requested_by = 'schedule'");
        Assert.Equal("deep/5/listing", await fixture.Database.ScalarAsync<string>($"SELECT depth || '/' || sample_percent || '/' || status FROM alto.reconcile_run WHERE id = '{runId}'"));
        await schedule.ReceiveReminder("reconcile", new Orleans.Runtime.TickStatus(DateTime.UtcNow, TimeSpan.FromHours(24), DateTime.UtcNow));
        var shown = await (await admin.GetAsync(new Uri(url, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(runId, shown.GetProperty("lastRunId").GetGuid());
        Assert.StartsWith($"skipped: reconcile run {runId} is listing this target already", shown.GetProperty("lastOutcome").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_run WHERE target_id = '{targetId}'"));

        // Unscheduled: the reminder goes, and deleting again is no error; another tenant's target is not found.
        (await admin.DeleteAsync(new Uri(url, UriKind.Relative))).EnsureSuccessStatusCode();
        (await admin.DeleteAsync(new Uri(url, UriKind.Relative))).EnsureSuccessStatusCode();
        await (await admin.DeleteAsync(new Uri($"/api/v1/tenants/{host.TenantId}/targets/{strangerTarget}/reconcile-schedule", UriKind.Relative)))
            .AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM orleans.reminder WHERE reminder_name = 'reconcile' AND (grain_id LIKE '%{targetId:N}%' OR grain_id LIKE '%{targetId}%')"));
        Assert.Equal(2, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE tenant_id = '{host.TenantId}' AND action IN ('reconcile.scheduled', 'reconcile.unscheduled')"));
    }

    /// <summary>f03's name as a scan escapes it (a Latin-1 byte): its record and inventory row hold the escaped text, flagged.</summary>
    private async Task<string> NameF03NotUtf8Async(PlannedHost host)
    {
        const string escaped = "/lucid/f\\xE9.bin";
        await fixture.Database.ExecuteAsync($"UPDATE alto.file_current SET full_path = '{escaped}', path_escaped = true WHERE host_id = '{host.HostId}' AND full_path = '/lucid/f03.bin'");
        await fixture.Database.ExecuteAsync($"UPDATE alto.tier_object SET full_path = '{escaped}' WHERE host_id = '{host.HostId}' AND full_path = '/lucid/f03.bin'");
        return escaped;
    }

    [Fact]
    public async Task AStubWhoseNameIsNotUtf8IsAskedAboutByItsEscapedNameAndItsAnswerMustSaySo()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        var escaped = await NameF03NotUtf8Async(host);
        var session = await ConnectAsync(host);
        var runId = await StartAsync(host, targetId);
        var all = locators.Order(StringComparer.Ordinal).Select(l => (l, 1000L)).ToArray();
        Assert.Equal("census", await LastPartAsync(host, runId, Part(null, true, all)));
        await CommandAsync(session, AgentCommandKind.Census, runId, 2);

        // Asked apart, flagged: the agent looks the name up by its bytes.
        var census = session.Commands.Where(command => command.Kind == AgentCommandKind.Census && command.RunId == runId).ToList();
        Assert.Equal([escaped], census.Single(command => command.Format == AgentCommand.EscapedPaths).Paths);
        Assert.Equal(["/lucid/f00.bin", "/lucid/f01.bin", "/lucid/f02.bin"], census.Single(command => command.Format == "").Paths);

        // The escaped text answered as a name is a path the run did not ask: refused whole, nothing taken.
        using var agent = host.AgentClient(fixture);
        await (await agent.PostAsJsonAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/stubs", UriKind.Relative),
            new { facts = new[] { new { path = escaped, found = "absent" } } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(4, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_stub WHERE run_id = '{runId}' AND found IS NULL"));

        // Answered as asked: the stub is gone from the host, and the run repairs its record like any other.
        Assert.Equal("completed", await CensusAsync(host, session, runId, path => path == escaped ? new { path, found = "absent", pathEscaped = true } : null));
        using var admin = fixture.ClientFor("platform-admin");
        var run = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((0L, 0L, 1L), (run.GetProperty("counts").GetProperty("unchecked").GetInt64(), run.GetProperty("counts").GetProperty("missing").GetInt64(),
            run.GetProperty("counts").GetProperty("drift").GetInt64()));
        var drift = (await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}/findings?class=drift", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("items").EnumerateArray().Select(f => $"{f.GetProperty("path").GetString()}:{f.GetProperty("kind").GetString()}").ToArray();
        Assert.Equal([$"{escaped}:stub_deleted"], drift);
        Assert.Equal(3, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'STUBBED'"));
    }

    [Fact]
    public async Task AnAgentThatDoesNotReadNamesThatAreNotUtf8IsNotAskedThemAndTheyCountAsUnchecked()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        await NameF03NotUtf8Async(host);
        // An agent of an earlier version: it would never answer paths it cannot read, and the run would wait for ever.
        var session = await ConnectAsync(host, capabilities: ["scan:csv", "scan:parquet"]);
        var runId = await StartAsync(host, targetId);
        var all = locators.Order(StringComparer.Ordinal).Select(l => (l, 1000L)).ToArray();

        Assert.Equal("census", await LastPartAsync(host, runId, Part(null, true, all)));
        Assert.Equal("completed", await CensusAsync(host, session, runId));

        var census = session.Commands.Where(command => command.Kind == AgentCommandKind.Census && command.RunId == runId).ToList();
        Assert.Equal(["/lucid/f00.bin", "/lucid/f01.bin", "/lucid/f02.bin"], census.Single().Paths);
        Assert.Equal("", census.Single().Format);
        using var admin = fixture.ClientFor("platform-admin");
        var run = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((1L, 0L, 0L), (run.GetProperty("counts").GetProperty("unchecked").GetInt64(), run.GetProperty("counts").GetProperty("missing").GetInt64(),
            run.GetProperty("counts").GetProperty("drift").GetInt64()));
        Assert.Equal(4, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'STUBBED'"));
    }

    /// <summary>
    /// A run taking its census of a host with one stub whose name is not UTF-8, asked (in a command
    /// of its own) of the host's agent, which reads such names and has not answered yet.
    /// </summary>
    private async Task<(PlannedHost Host, Guid TargetId, StandInSession Capable, Guid RunId)> EscapedCensusAskedAsync()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        await NameF03NotUtf8Async(host);
        var capable = await ConnectAsync(host);
        var runId = await StartAsync(host, targetId);
        var all = locators.Order(StringComparer.Ordinal).Select(l => (l, 1000L)).ToArray();
        Assert.Equal("census", await LastPartAsync(host, runId, Part(null, true, all)));
        await CommandAsync(capable, AgentCommandKind.Census, runId, 2);
        return (host, targetId, capable, runId);
    }

    /// <summary>
    /// The escaped names were asked of an agent that read them, but before it answered, the host
    /// came back with an earlier agent (a downgrade): that agent would never answer them, and the run
    /// waited for ever. The census command of escaped names is not handed to it; they count unchecked.
    /// </summary>
    [Fact]
    public async Task EscapedNamesQueuedForAnAgentThatCameBackWithoutReadingThemCountAsUnchecked()
    {
        var (host, targetId, capable, runId) = await EscapedCensusAskedAsync();

        // The agent is replaced by an earlier version before answering: what was queued goes to the new session.
        var downgraded = await ConnectAsync(host, capabilities: ["scan:csv", "scan:parquet"]);
        await CommandAsync(downgraded, AgentCommandKind.Census, runId, 1);
        Assert.Equal("", downgraded.Commands.Single(command => command.Kind == AgentCommandKind.Census).Format);
        await CountEventuallyAsync($"SELECT census_unchecked FROM alto.reconcile_run WHERE id = '{runId}'", 1, "the escaped name was not counted unchecked");
        Assert.Equal("completed", await CensusAsync(host, downgraded, runId));
        using var admin = fixture.ClientFor("platform-admin");
        var run = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((1L, 0L, 0L), (run.GetProperty("counts").GetProperty("unchecked").GetInt64(), run.GetProperty("counts").GetProperty("missing").GetInt64(),
            run.GetProperty("counts").GetProperty("drift").GetInt64()));
        // The command of escaped names waits for no agent any more; the other commands wait for their acknowledgements as ever.
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.agent_command WHERE host_id = '{host.HostId}' AND format = 'escaped'"));
        Assert.Equal(2, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.agent_command WHERE host_id = '{host.HostId}'"));
    }

    /// <summary>
    /// As above, but the host's word to the run that the escaped names were not handed to the
    /// earlier agent is lost (a silo gone between: the command is no longer queued, the run never
    /// heard). The run's silence watch finds the host's agent, connected and heartbeating, unable to
    /// read them, counts them unchecked and ends; before, the run waited on them for ever.
    /// </summary>
    [Fact]
    public async Task EscapedNamesOwedByAConnectedAgentThatCannotReadThemAreTakenBackByTheSilenceWatch()
    {
        var (host, targetId, capable, runId) = await EscapedCensusAskedAsync();
        await fixture.Database.ExecuteAsync($"DELETE FROM alto.agent_command WHERE host_id = '{host.HostId}' AND format = 'escaped'");
        var longer = Grains.Reconcile.ReconcileRunGrain.SilentAfter + TimeSpan.FromMinutes(1);
        var escapedPending = $"SELECT count(*) FROM alto.reconcile_stub WHERE run_id = '{runId}' AND path_escaped AND found IS NULL";

        // The agent goes away, the host's heartbeat still recent: the one that comes back may read the names, and is waited for.
        await _sessions.DisconnectAsync(capable);
        await SilenceAndLookAsync(runId, longer);
        Assert.Equal(1, await fixture.Database.CountAsync(escapedPending));

        var downgraded = await ConnectAsync(host, capabilities: ["scan:csv", "scan:parquet"]);
        await CommandAsync(downgraded, AgentCommandKind.Census, runId, 1);
        var facts = new List<object>();
        foreach (var path in downgraded.Commands.Single(command => command.Kind == AgentCommandKind.Census).Paths)
        {
            var record = await fixture.Database.ScalarAsync<string>($"SELECT locator || ' ' || hash FROM alto.tier_object WHERE host_id = '{host.HostId}' AND full_path = '{path}'");
            facts.Add(new { path, found = "stub", locator = record.Split(' ')[0], sha256 = record.Split(' ')[1], targetId });
        }
        using (var agent = host.AgentClient(fixture))
        {
            var receipt = await (await agent.PostAsJsonAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/stubs", UriKind.Relative), new { facts }))
                .AssertJsonAsync(HttpStatusCode.OK);
            Assert.Equal(("census", 1L), (receipt.GetProperty("status").GetString(), receipt.GetProperty("pending").GetInt64()));
        }

        // Heard from recently: the watch waits, as for any census.
        await SilenceAndLookAsync(runId, TimeSpan.FromMinutes(1));
        Assert.Equal("census", await fixture.Database.ScalarAsync<string>($"SELECT status FROM alto.reconcile_run WHERE id = '{runId}'"));
        // Silent for long, the host still heartbeating: its agent cannot answer, and the run goes on without it.
        await SilenceAndLookAsync(runId, longer);
        Assert.Equal("completed", await StatusAfterAsync(runId, "census"));
        Assert.Equal(0, await fixture.Database.CountAsync(escapedPending));
        using var admin = fixture.ClientFor("platform-admin");
        var run = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((1L, 0L), (run.GetProperty("counts").GetProperty("unchecked").GetInt64(), run.GetProperty("counts").GetProperty("missing").GetInt64()));
    }

    /// <summary>
    /// A recall asked while the host was away, of stubs one of whose names is not UTF-8, and the host
    /// comes back with an agent that does not read such names: the plain names are recalled; the
    /// escaped one is not handed to it (it would look for a file of that text) and fails, saying why.
    /// </summary>
    [Fact]
    public async Task AnEscapedRecallIsNotHandedToAnAgentThatDoesNotReadSuchNamesAndFailsSayingWhy()
    {
        var (host, _, _) = await StubbedHostAsync();
        await NameF03NotUtf8Async(host);
        using var admin = fixture.ClientFor("platform-admin");
        var receipt = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{host.TenantId}/hosts/{host.HostId}/recall", new { directory = "/lucid" }))
            .AssertJsonAsync(HttpStatusCode.Accepted);
        Assert.Equal((4, 2), (receipt.GetProperty("files").GetInt32(), receipt.GetProperty("commands").GetInt32()));

        var session = await ConnectAsync(host, capabilities: ["scan:csv", "scan:parquet"]);
        var recalls = session.Commands.Where(command => command.Kind == AgentCommandKind.Recall).ToList();
        Assert.Equal(["/lucid/f00.bin", "/lucid/f01.bin", "/lucid/f02.bin"], recalls.Single().Paths);
        Assert.Equal(1, await fixture.Database.CountAsync($"""
            SELECT count(*) FROM alto.audit_log WHERE host_id = '{host.HostId}' AND action = 'host.command_failed'
              AND details->>'kind' = 'recall' AND details->>'error' = 'the host''s agent (version 1.0) does not read names that are not UTF-8'
            """));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.agent_command WHERE host_id = '{host.HostId}' AND format = 'escaped'"));
    }

    [Fact]
    public async Task AWindowsHostWhoseAgentDoesNotAnswerACensusIsListedForButNotAskedItsStubsCountAsUnchecked()
    {
        var (host, targetId, locators) = await StubbedHostAsync(windows: true);
        var session = await ConnectAsync(host, "windows");
        var runId = await StartAsync(host, targetId);
        var all = locators.Order(StringComparer.Ordinal).Select(l => (l, 1000L)).ToArray();

        // The (earlier) Windows agent lists tier 2 like any other; the census is not asked of it (it does not say it answers one),
        // so the run passes through its census (nobody to ask) straight to the end.
        var status = await LastPartAsync(host, runId, Part(null, true, all));
        Assert.Equal("completed", status == "census" ? await StatusAfterAsync(runId, "census") : status);
        Assert.DoesNotContain(session.Commands, command => command.Kind == AgentCommandKind.Census);
        using var admin = fixture.ClientFor("platform-admin");
        var run = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((4L, 0L, 0L), (run.GetProperty("counts").GetProperty("unchecked").GetInt64(), run.GetProperty("counts").GetProperty("missing").GetInt64(),
            run.GetProperty("counts").GetProperty("drift").GetInt64()));
        Assert.Equal(4, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'STUBBED'"));
    }

    /// <summary>
    /// A Windows host whose agent answers a census (<c>census:windows</c>: it reads its stubs
    /// through its stub driver) is asked like a Linux one, and what it answers is classified: a stub
    /// deleted and one made a real file again are drift, and nothing is left unchecked.
    /// </summary>
    [Fact]
    public async Task AWindowsHostWhoseAgentAnswersACensusIsAskedAndItsAnswersClassified()
    {
        var (host, targetId, locators) = await StubbedHostAsync(windows: true);
        var session = await ConnectAsync(host, "windows", ["scan:csv", "scan:parquet", "paths:escaped", AgentSession.WindowsCensusCapability]);
        var runId = await StartAsync(host, targetId);
        var all = locators.Order(StringComparer.Ordinal).Select(l => (l, 1000L)).ToArray();

        Assert.Equal("census", await LastPartAsync(host, runId, Part(null, true, all)));
        await CommandAsync(session, AgentCommandKind.Census, runId, 1);
        Assert.Equal(4, session.Commands.Single(command => command.Kind == AgentCommandKind.Census).Paths.Length);
        var done = await CensusAsync(host, session, runId, path => path switch
        {
            @"C:\Data\f00.bin" => new { path, found = "absent" },
            @"C:\Data\f01.bin" => new { path, found = "file" },
            _ => null,
        });
        Assert.Equal("completed", done);
        using var admin = fixture.ClientFor("platform-admin");
        var run = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((0L, 0L, 2L), (run.GetProperty("counts").GetProperty("unchecked").GetInt64(), run.GetProperty("counts").GetProperty("missing").GetInt64(),
            run.GetProperty("counts").GetProperty("drift").GetInt64()));
        var drift = (await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}/findings?class=drift", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("items").EnumerateArray().ToDictionary(f => f.GetProperty("path").GetString()!, f => f.GetProperty("kind").GetString());
        Assert.Equal(new Dictionary<string, string?> { [@"C:\Data\f00.bin"] = "stub_deleted", [@"C:\Data\f01.bin"] = "stub_replaced" }, drift);
        Assert.Equal(2, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'STUBBED'"));
    }

    [Fact]
    public async Task OrphansPastTheTenantsGracePeriodAreDeletedByTheListingAgentWhenThePolicySaysSoAndNothingElseIs()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        var (stranger, _, _) = await StubbedHostAsync();
        var session = await ConnectAsync(host);
        using var admin = fixture.ClientFor("platform-admin");
        var tenantUrl = $"/api/v1/tenants/{host.TenantId}";
        var refused = await (await admin.PatchAsJsonAsync(tenantUrl, new { orphanGraceDays = 0 })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(new[] { "orphanGraceDays" }, refused.GetProperty("errors").EnumerateObject().Select(e => e.Name));
        var tenant = await (await admin.GetAsync(new Uri(tenantUrl, UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((30, false), (tenant.GetProperty("orphanGraceDays").GetInt32(), tenant.GetProperty("reclaimOrphans").GetBoolean()));

        // Three objects no record names, unmodified for 40 days, and one written yesterday.
        var old = Enumerable.Range(0, 3).Select(i => Locator(host.TenantId, $"an old orphan {i}")).ToArray();
        var young = Locator(host.TenantId, "a young orphan");
        object Listing() => new
        {
            after = (string?)null, finished = true,
            objects = locators.Select(key => (Key: key, Length: 1000L, Age: 100)).Concat(old.Select(key => (Key: key, Length: 50L, Age: 40))).Append((Key: young, Length: 50L, Age: 1))
                .OrderBy(o => o.Key, StringComparer.Ordinal)
                .Select(o => new { key = o.Key, length = o.Length, modified = DateTimeOffset.UtcNow.AddDays(-o.Age) }).ToArray(),
        };

        // The tenant's policy keeps orphans: a run reports the old ones reclaimable and deletes nothing.
        var keeping = await StartAsync(host, targetId);
        Assert.Equal("census", await LastPartAsync(host, keeping, Listing()));
        Assert.Equal("completed", await CensusAsync(host, session, keeping));
        Assert.True(3 == await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.reconcile_finding WHERE run_id = '{keeping}' AND class = 'orphan' AND reclaim IS NULL AND repair LIKE 'kept: reclaimable%(reclaimOrphans is off)'"),
            await fixture.Database.ScalarAsync<string>($"SELECT string_agg(class || ' ' || repair, '; ') FROM alto.reconcile_finding WHERE run_id = '{keeping}'"));

        // The policy now reclaims (30 days' grace): the run goes on to a reclaiming phase and its listing agent is asked again.
        var tenantNow = await (await admin.PatchAsJsonAsync(tenantUrl, new { reclaimOrphans = true, orphanGraceDays = 30 })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.True(tenantNow.GetProperty("reclaimOrphans").GetBoolean());
        var runId = await StartAsync(host, targetId);
        Assert.Equal("census", await LastPartAsync(host, runId, Listing()));
        Assert.Equal("reclaiming", await CensusAsync(host, session, runId));
        // The command is queued just after the run's status moves: waited for, not raced.
        await CommandAsync(session, AgentCommandKind.Reconcile, runId, count: 2);
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.reconcile_finding WHERE run_id = '{runId}' AND object_key = '{young}' AND reclaim IS NULL AND repair LIKE 'kept: within the 30-day grace period%'"));
        // Meanwhile one of them became a record's object again (the same content tiered anew): it is data, not an orphan.
        await fixture.Database.ExecuteAsync(
            $"UPDATE alto.tier_object SET locator = '{old[2]}', hash = right('{old[2]}', 64) WHERE host_id = '{host.HostId}' AND full_path = '/lucid/f03.bin'");

        using var agent = host.AgentClient(fixture);
        using var strangerAgent = stranger.AgentClient(fixture);
        var reclaimUrl = new Uri($"/api/v1/agents/reconcile-runs/{runId}/reclaim", UriKind.Relative);
        var reportUrl = new Uri($"/api/v1/agents/reconcile-runs/{runId}/reclaimed", UriKind.Relative);
        await (await strangerAgent.GetAsync(reclaimUrl)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await strangerAgent.PostAsJsonAsync(reportUrl, new { results = new[] { new { key = old[0], outcome = "deleted" } } })).AssertProblemAsync(HttpStatusCode.NotFound);
        var batch = await (await agent.GetAsync(reclaimUrl)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(old[..2].Order(StringComparer.Ordinal), batch.GetProperty("keys").EnumerateArray().Select(key => key.GetString()!));
        Assert.InRange(batch.GetProperty("before").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddDays(-30).AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(-30));

        // Bad reports change nothing: an unknown outcome, a key the run is not reclaiming (the young orphan, a record's object).
        await (await agent.PostAsJsonAsync(reportUrl, new { results = new[] { new { key = old[0], outcome = "gone" } } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        foreach (var key in new[] { young, locators[0] })
        {
            await (await agent.PostAsJsonAsync(reportUrl, new { results = new[] { new { key = old[0], outcome = "deleted" }, new { key, outcome = "deleted" } } }))
                .AssertProblemAsync(HttpStatusCode.BadRequest);
        }
        Assert.Equal(2, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_finding WHERE run_id = '{runId}' AND reclaim = 'pending'"));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'reconcile.orphan_deleted' AND details->>'runId' = '{runId}'"));

        // One deleted, one whose delete failed: audited both, and the run ends.
        var receipt = await (await agent.PostAsJsonAsync(reportUrl, new
        {
            results = new object[] { new { key = old[0], outcome = "deleted" }, new { key = old[1], outcome = "failed", detail = "access denied" } },
        })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((2, 0L, "completed"), (receipt.GetProperty("taken").GetInt32(), receipt.GetProperty("pending").GetInt64(), receipt.GetProperty("status").GetString()));
        var run = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((4L, 1L, 2L), (run.GetProperty("counts").GetProperty("orphan").GetInt64(), run.GetProperty("counts").GetProperty("orphan.deleted").GetInt64(),
            run.GetProperty("counts").GetProperty("orphan.kept").GetInt64()));
        var repairs = (await (await admin.GetAsync(new Uri($"/api/v1/tenants/{host.TenantId}/reconcile-runs/{runId}/findings?class=orphan", UriKind.Relative)))
                .AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("items").EnumerateArray().ToDictionary(f => f.GetProperty("objectKey").GetString()!, f => f.GetProperty("repair").GetString()!);
        Assert.StartsWith("deleted: unreferenced for over the 30-day grace period", repairs[old[0]], StringComparison.Ordinal);
        Assert.Equal("kept: the delete failed: access denied", repairs[old[1]]);
        Assert.StartsWith("kept: a record names the object", repairs[old[2]], StringComparison.Ordinal);
        Assert.Equal("1:1", await fixture.Database.ScalarAsync<string>($"""
            SELECT count(*) FILTER (WHERE outcome = 'success' AND details->>'objectKey' = '{old[0]}') || ':' || count(*) FILTER (WHERE outcome = 'failure' AND details->>'objectKey' = '{old[1]}')
            FROM alto.audit_log WHERE tenant_id = '{host.TenantId}' AND action = 'reconcile.orphan_deleted' AND details->>'runId' = '{runId}'
            """));
        // The report sent again after a lost answer changes nothing; the agent's next ask finds the run over.
        Assert.Equal(0, (await (await agent.PostAsJsonAsync(reportUrl, new { results = new[] { new { key = old[0], outcome = "deleted" } } })).AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("taken").GetInt32());
        Assert.Equal("completed", (await (await agent.GetAsync(reclaimUrl)).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("status").GetString());
        Assert.Equal(4, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'STUBBED'"));
    }

    /// <summary>
    /// f03's file (at <paramref name="copyPath"/>) was recalled and holds what f00's object held (the
    /// same SHA-256 and size); a run whose listing lacks f00's object (and f03's old one, no longer a
    /// record's) marks f00 LOST and asks the host to re-tier it from the copy. Returns the run.
    /// </summary>
    private async Task<Guid> LoseF00WithACopyAtAsync(PlannedHost host, Guid targetId, string[] locators, StandInSession session, string copyPath, bool restoreAsked = true)
    {
        await fixture.Database.ExecuteAsync($"""
            UPDATE alto.tier_object SET state = 'RECALLED', hash = right('{locators[0]}', 64), locator = '{locators[0]}'
            WHERE host_id = '{host.HostId}' AND full_path = '{copyPath}'
            """);
        var runId = await StartAsync(host, targetId);
        Assert.Equal("census", await LastPartAsync(host, runId, Part(null, true, locators[1..3].Order(StringComparer.Ordinal).Select(l => (l, 1000L)).ToArray())));
        Assert.Equal("completed", await CensusAsync(host, session, runId));
        if (restoreAsked)
        {
            await CommandAsync(session, AgentCommandKind.Restore, runId, count: 1);
        }
        return runId;
    }

    [Fact]
    public async Task ALostStubsReTierFromACopyIsAskedOfTheCopysHostOnlyAndBadReportsChangeNothing()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        var (stranger, _, _) = await StubbedHostAsync();
        var session = await ConnectAsync(host);
        var runId = await LoseF00WithACopyAtAsync(host, targetId, locators, session, "/lucid/f03.bin");
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'LOST'"));

        using var agent = host.AgentClient(fixture);
        using var strangerAgent = stranger.AgentClient(fixture);
        var listUrl = new Uri($"/api/v1/agents/reconcile-runs/{runId}/restores", UriKind.Relative);
        var reportUrl = new Uri($"/api/v1/agents/reconcile-runs/{runId}/restored", UriKind.Relative);
        await (await strangerAgent.GetAsync(listUrl)).AssertProblemAsync(HttpStatusCode.NotFound);
        var items = (await (await agent.GetAsync(listUrl)).AssertJsonAsync(HttpStatusCode.OK)).EnumerateArray().ToList();
        var item = Assert.Single(items);
        var lostId = item.GetProperty("tierObjectId").GetInt64();
        Assert.Equal(("/lucid/f03.bin", false, locators[0], 1000L, targetId),
            (item.GetProperty("path").GetString(), item.GetProperty("pathEscaped").GetBoolean(), item.GetProperty("locator").GetString(),
                item.GetProperty("sizeBytes").GetInt64(), item.GetProperty("targetId").GetGuid()));

        // Bad reports change nothing: another tenant's host, an unknown outcome, a record the run is not re-tiering.
        await (await strangerAgent.PostAsJsonAsync(reportUrl, new { results = new[] { new { tierObjectId = lostId, outcome = "restored" } } }))
            .AssertProblemAsync(HttpStatusCode.NotFound);
        await (await agent.PostAsJsonAsync(reportUrl, new { results = new[] { new { tierObjectId = lostId, outcome = "done" } } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await agent.PostAsJsonAsync(reportUrl, new { results = new[] { new { tierObjectId = lostId, outcome = "restored" }, new { tierObjectId = lostId + 1, outcome = "restored" } } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE id = {lostId} AND state = 'LOST'"));

        var receipt = await (await agent.PostAsJsonAsync(reportUrl, new { results = new[] { new { tierObjectId = lostId, outcome = "restored" } } })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((1, 0L), (receipt.GetProperty("taken").GetInt32(), receipt.GetProperty("pending").GetInt64()));
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE id = {lostId} AND state = 'STUBBED'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.reconcile_finding WHERE run_id = '{runId}' AND tier_object_id = {lostId} AND repair LIKE '%: STUBBED again'"));
        // Sent again after a lost answer: taken before, nothing more happens.
        Assert.Equal(0, (await (await agent.PostAsJsonAsync(reportUrl, new { results = new[] { new { tierObjectId = lostId, outcome = "restored" } } }))
            .AssertJsonAsync(HttpStatusCode.OK)).GetProperty("taken").GetInt32());
        Assert.Empty((await (await agent.GetAsync(listUrl)).AssertJsonAsync(HttpStatusCode.OK)).EnumerateArray());
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_log WHERE action = 'reconcile.retiered' AND details->>'runId' = '{runId}'"));
    }

    [Fact]
    public async Task ACopyWhoseNameIsNotUtf8IsHandedToItsAgentEscapedAndFlagged()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        var session = await ConnectAsync(host);
        // f03's file is named in Latin-1 (held escaped).
        var escaped = await NameF03NotUtf8Async(host);
        var runId = await LoseF00WithACopyAtAsync(host, targetId, locators, session, escaped);

        // Its agent is told the name is escaped: it opens the file by its bytes, not a file named by the text.
        using var agent = host.AgentClient(fixture);
        var item = Assert.Single((await (await agent.GetAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/restores", UriKind.Relative)))
            .AssertJsonAsync(HttpStatusCode.OK)).EnumerateArray());
        Assert.Equal((escaped, true), (item.GetProperty("path").GetString(), item.GetProperty("pathEscaped").GetBoolean()));
    }

    [Fact]
    public async Task ACopyWhoseNameIsNotUtf8QueuedForAnAgentDowngradedSinceIsNotHandedToItAndItsReTierFailsSayingWhy()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        var session = await ConnectAsync(host);
        var escaped = await NameF03NotUtf8Async(host);
        var runId = await LoseF00WithACopyAtAsync(host, targetId, locators, session, escaped);

        // The re-tier was queued for an agent that reads such names; the host came back with an earlier one before it asked.
        await ConnectAsync(host, capabilities: ["scan:csv", "scan:parquet"]);
        using var agent = host.AgentClient(fixture);
        Assert.Empty((await (await agent.GetAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/restores", UriKind.Relative)))
            .AssertJsonAsync(HttpStatusCode.OK)).EnumerateArray());
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.reconcile_finding WHERE run_id = '{runId}' AND class = 'missing' AND repair LIKE '%failed: the copy''s name is not UTF-8, and the host''s agent does not read such names%'"));
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'reconcile.retiered' AND details->>'runId' = '{runId}' AND details->>'outcome' = 'failed'"));
    }

    [Fact]
    public async Task ACopyWhoseNameIsNotUtf8IsNotHandedToAnAgentThatDoesNotReadSuchNamesAndItsReTierFailsSayingWhy()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        // An agent of an earlier version would take the escaped text for a name and report the copy gone.
        var session = await ConnectAsync(host, capabilities: ["scan:csv", "scan:parquet"]);
        var escaped = await NameF03NotUtf8Async(host);
        var runId = await LoseF00WithACopyAtAsync(host, targetId, locators, session, escaped, restoreAsked: false);

        var finding = $"SELECT count(*) FROM alto.reconcile_finding WHERE run_id = '{runId}' AND class = 'missing' AND repair LIKE '%re-tier from the copy at %failed: the copy''s name is not UTF-8, and the host''s agent does not read such names%'";
        await CountEventuallyAsync(finding, 1, "the re-tier was not failed with its reason");
        Assert.DoesNotContain(session.Commands, command => command.Kind == AgentCommandKind.Restore && command.RunId == runId);
        // Not silent: audited as a failed re-tier, as one the agent reports is.
        Assert.Equal(1, await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_log WHERE action = 'reconcile.retiered' AND outcome = 'failure' AND details->>'runId' = '{runId}' AND details->>'outcome' = 'failed'"));
        using var agent = host.AgentClient(fixture);
        Assert.Empty((await (await agent.GetAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/restores", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK))
            .EnumerateArray());
        Assert.Equal(1, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'LOST'"));
    }

    [Fact]
    public async Task APartKeepsOnlyWhatMayBeAFindingAndARecordRecalledSinceItsPartIsNotMarkedLost()
    {
        var (host, targetId, locators) = await StubbedHostAsync();
        var session = await ConnectAsync(host);
        var runId = await StartAsync(host, targetId);
        var sorted = locators.Order(StringComparer.Ordinal).ToArray();
        using var agent = host.AgentClient(fixture);
        // The first part's range reaches its last key: the lowest object is not in it, two healthy ones are.
        await (await agent.PostAsJsonAsync(new Uri($"/api/v1/agents/reconcile-runs/{runId}/listing", UriKind.Relative),
            Part(null, false, sorted[1..3].Select(l => (l, 1000L)).ToArray()))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal($"{sorted[0]}:False", await fixture.Database.ScalarAsync<string>(
            $"SELECT string_agg(key || ':' || CASE WHEN listed THEN 'True' ELSE 'False' END, ',') FROM alto.reconcile_object WHERE run_id = '{runId}'"));
        // Its file is recalled before the listing ends: judged as the record is at the end, it is no finding.
        await fixture.Database.ExecuteAsync($"UPDATE alto.tier_object SET state = 'RECALLED', acted_utc = now() WHERE locator = '{sorted[0]}'");

        Assert.Equal("census", await LastPartAsync(host, runId, Part(sorted[2], true, (sorted[3], 1000L))));
        Assert.Equal("completed", await CensusAsync(host, session, runId));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_finding WHERE run_id = '{runId}'"));
        Assert.Equal(3, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.tier_object WHERE host_id = '{host.HostId}' AND state = 'STUBBED'"));
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.reconcile_object WHERE run_id = '{runId}'"));
    }

    /// <summary>The packed part with a byte of its key's UTF-8 replaced by one that cannot begin a character.</summary>
    private static byte[] NotUtf8(byte[] packed, string key)
    {
        var copy = packed.ToArray();
        copy[copy.AsSpan().IndexOf(Encoding.UTF8.GetBytes(key)) + 1] = 0xFF;
        return copy;
    }

    /// <summary>The packed part claiming 5,001 objects (its count follows the magic, the flags byte and two empty strings).</summary>
    private static byte[] TooMany(byte[] packed)
    {
        var copy = packed.ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(7), ListingPartFormat.MaxEntries + 1);
        return copy;
    }
}
