using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Alto.TestSupport;
using Microsoft.Playwright;

namespace Alto.Gateway.Tests;

/// <summary>
/// The console in a real browser (<see cref="ConsoleBrowser"/>) against a real gateway process:
/// sign-in, the overview going live, and for each of the four roles exactly the pages and
/// controls it may use — the server refusing the rest anyway. Pages are photographed at desktop
/// and tablet width; no page logs an error. The whole path with a real agent is in the agent's
/// tests (ConsoleEndToEndTests).
/// </summary>
public sealed class ConsoleBrowserTests
{
    private const string Password = "Console-role-pass-8812!";

    [Fact]
    public async Task AnAdminSignsInSeesTheOverviewAndItsLiveFeedAndAViewerSeesItsTenant()
    {
        await using var gateway = await StartGatewayAsync("console");
        using var admin = await AdminAsync(gateway);
        var tenant = await (await admin.PostAsJsonAsync("/api/v1/tenants", new { name = "Acme" })).AssertJsonAsync(HttpStatusCode.Created);
        var tenantId = tenant.GetProperty("id").GetGuid();
        (await admin.PostAsJsonAsync("/api/v1/users", new { username = "console-viewer", password = Password, role = "viewer", tenantIds = new[] { tenantId } }))
            .EnsureSuccessStatusCode();
        await using var browser = await ConsoleBrowser.LaunchAsync();

        // The platform admin: a wrong password is refused in place, the right one opens the overview.
        var page = await browser.NewPageAsync();
        await page.GotoAsync(gateway.HttpUrl.ToString());
        await page.GetByLabel("Username").FillAsync("admin");
        await page.GetByLabel("Password").FillAsync("not-the-password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("password");
        await ConsoleBrowser.ScreenshotAsync(page, "sign-in-refused");
        await page.GetByLabel("Password").FillAsync(GatewayProcess.AdminPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex($"/tenants/{tenantId}$"));
        await Assertions.Expect(page.GetByTestId("capacity-total")).ToHaveTextAsync("0 B");
        await Assertions.Expect(page.GetByTestId("hosts-online")).ToHaveTextAsync("0 of 0 online");
        await Assertions.Expect(page.GetByTestId("jobs-in-flight")).ToHaveTextAsync("0");
        await Assertions.Expect(page.GetByTestId("alerts")).ToHaveTextAsync("Nothing needs attention.");
        await Assertions.Expect(page.GetByRole(AriaRole.Figure, new() { Name = "Savings trend" })).ToContainTextAsync("over the last 90 days");
        await Assertions.Expect(page.GetByTestId("live-state")).ToHaveTextAsync("Live", new() { Timeout = 30_000 });

        // Something happens through the API: the page hears of it and reads the hosts again, without a reload.
        await RegisterHostsUntilThePageHearsAsync(page, admin, tenantId, "fs");
        await Assertions.Expect(page.GetByTestId("hosts-online")).ToContainTextAsync("0 of ");
        await ConsoleBrowser.ScreenshotAsync(page, "overview-admin");

        // The viewer sees its one tenant.
        var viewer = await browser.SignInAsync(gateway.HttpUrl, "console-viewer", Password);
        await Assertions.Expect(viewer.GetByRole(AriaRole.Combobox, new() { Name = "Tenant" })).ToHaveValueAsync(tenantId.ToString());
        await Assertions.Expect(viewer.GetByTestId("savings-month")).ToHaveTextAsync("$0.00");
        await ConsoleBrowser.ScreenshotAsync(viewer, "overview-viewer");
        browser.AssertNoErrors();
    }

    [Fact]
    public async Task EachRoleSeesOnlyTheControlsItMayUseOnTheRulesHostsAndPlansPages()
    {
        await using var gateway = await StartGatewayAsync("console-rules");
        using var admin = await AdminAsync(gateway);
        var tenantId = await TenantWithFilesAsync(gateway, admin, "Rules Inc");
        await using var browser = await ConsoleBrowser.LaunchAsync();
        var page = await browser.SignInAsync(gateway.HttpUrl, "rules-inc-tenant-admin", Password);
        await ConsoleBrowser.OpenAsync(page, "Rules");
        await Assertions.Expect(page.GetByText("No rule yet")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("preview-unmatched")).ToContainTextAsync("10");

        // Typing the rule previews it: five cold files match, five stay.
        var editor = page.GetByRole(AriaRole.Form, new() { Name = "New rule" });
        await editor.GetByLabel("Name", new() { Exact = true }).FillAsync("cold");
        await editor.GetByLabel("Target", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "nas" });
        await editor.GetByLabel("Not read for (days)", new() { Exact = true }).FillAsync("90");
        await Assertions.Expect(page.GetByTestId("preview-cold")).ToContainTextAsync("5.00 MB");
        await Assertions.Expect(page.GetByTestId("preview-unmatched")).ToContainTextAsync("5.00 MB");
        await ConsoleBrowser.ScreenshotAsync(page, "rules-preview");
        await editor.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("rule")).ToHaveCountAsync(1);

        // The API's refusal shows beside the field it is about; nothing is added.
        await editor.GetByLabel("Name", new() { Exact = true }).FillAsync("cold");
        await editor.GetByLabel("Target", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "nas" });
        await editor.GetByLabel("Not read for (days)", new() { Exact = true }).FillAsync("30");
        await editor.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Assertions.Expect(editor.GetByRole(AriaRole.Alert)).ToContainTextAsync("already exists");
        await Assertions.Expect(page.GetByTestId("rule")).ToHaveCountAsync(1);

        // A second rule (big files stay), then reordered: by dragging its handle above the first, and back by keyboard.
        await editor.GetByLabel("Name", new() { Exact = true }).FillAsync("big");
        await editor.GetByLabel("Action", new() { Exact = true }).SelectOptionAsync("exclude");
        await editor.GetByLabel("Not read for (days)", new() { Exact = true }).FillAsync("");
        await editor.GetByLabel("Smallest file (bytes)", new() { Exact = true }).FillAsync("100000");
        await editor.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("rule")).ToHaveCountAsync(2);
        await DragAsync(page, page.GetByRole(AriaRole.Button, new() { Name = "Drag big to reorder" }), page.GetByRole(AriaRole.Button, new() { Name = "Drag cold to reorder" }));
        await Assertions.Expect(page.GetByTestId("rule").First).ToContainTextAsync("big");
        await AssertEventuallyAsync(async () => (await RulesAsync(admin, tenantId))[0] == "big", "the dragged order saved");
        var handle = page.GetByRole(AriaRole.Button, new() { Name = "Drag big to reorder" });
        // The list takes no reorder while the last one's answer is still on its way (the server may
        // have saved it already): a key pressed then is lost.
        await Assertions.Expect(handle).ToHaveAttributeAsync("aria-disabled", "false");
        await handle.FocusAsync();
        await page.Keyboard.PressAsync("Space");
        await Assertions.Expect(handle).ToHaveAttributeAsync("aria-pressed", "true");
        await page.Keyboard.PressAsync("ArrowDown");
        // The list announces each move to screen readers: the drop waits until the rule is over the other one.
        await Assertions.Expect(page.GetByText(new Regex(@"^Draggable item (\S+) was moved over droppable area (?!\1)"))).ToBeAttachedAsync();
        await page.Keyboard.PressAsync("Space");
        await Assertions.Expect(page.GetByTestId("rule").First).ToContainTextAsync("cold");
        await AssertEventuallyAsync(async () => (await RulesAsync(admin, tenantId))[0] == "cold", "the keyboard reorder saved");

        // A saved rule is changed in place. A criterion set through the API, which the editor has no
        // field for, is kept; a change another admin made meanwhile is not overwritten.
        var coldId = await gateway.Database.ScalarAsync<Guid>($"SELECT id FROM alto.rule WHERE tenant_id = '{tenantId}' AND name = 'cold'");
        var coldPath = $"/api/v1/tenants/{tenantId}/rules/{coldId}";
        await ReplaceRuleAsync(admin, coldPath, rule => rule["criteria"]!["excludePathGlobs"] = new System.Text.Json.Nodes.JsonArray("/srv/f0.bin"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Change cold" }).ClickAsync();
        var change = page.GetByRole(AriaRole.Form, new() { Name = "Change cold" });
        await Assertions.Expect(change.GetByLabel("Not read for (days)", new() { Exact = true })).ToHaveValueAsync("90");
        await Assertions.Expect(change).ToContainTextAsync("Kept as they are (set through the API): excludePathGlobs.");
        await change.GetByLabel("Path globs (comma-separated)", new() { Exact = true }).FillAsync("/srv/f0.bin, /srv/f2.bin, /srv/f4.bin");
        // The preview puts the draft in the rule's place: f0 stays excluded.
        await Assertions.Expect(page.GetByTestId("preview-cold")).ToContainTextAsync("2.00 MB");
        await ReplaceRuleAsync(admin, coldPath, rule => rule["criteria"]!["minSizeBytes"] = 1);
        await change.GetByRole(AriaRole.Button, new() { Name = "Save rule" }).ClickAsync();
        await Assertions.Expect(change.GetByRole(AriaRole.Alert)).ToContainTextAsync("Another admin changed this rule since you opened it");
        await change.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Change cold" }).ClickAsync();
        await Assertions.Expect(change).ToContainTextAsync("excludePathGlobs");
        await Assertions.Expect(change.GetByLabel("Smallest file (bytes)", new() { Exact = true })).ToHaveValueAsync("1");
        await change.GetByLabel("Path globs (comma-separated)", new() { Exact = true }).FillAsync("/srv/f0.bin, /srv/f2.bin, /srv/f4.bin");
        await change.GetByLabel("Enabled", new() { Exact = true }).UncheckAsync();
        await change.GetByRole(AriaRole.Button, new() { Name = "Save rule" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("rule").First).ToContainTextAsync("cold — tier to nas (disabled)");
        await Assertions.Expect(page.GetByRole(AriaRole.Form, new() { Name = "New rule" })).ToBeVisibleAsync();
        var saved = await (await admin.GetAsync(coldPath)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((false, 90, 1), (saved.GetProperty("enabled").GetBoolean(), saved.GetProperty("criteria").GetProperty("accessedOlderThanDays").GetInt32(),
            saved.GetProperty("criteria").GetProperty("minSizeBytes").GetInt32()));
        Assert.Equal(["/srv/f0.bin"], saved.GetProperty("criteria").GetProperty("excludePathGlobs").EnumerateArray().Select(glob => glob.GetString()));
        Assert.Equal(3, saved.GetProperty("criteria").GetProperty("pathGlobs").GetArrayLength());
        Assert.Equal(["cold", "big"], await RulesAsync(admin, tenantId));
        // Enabled again for every cold file, and the other admin takes back their criteria.
        await page.GetByRole(AriaRole.Button, new() { Name = "Change cold" }).ClickAsync();
        await change.GetByLabel("Enabled", new() { Exact = true }).CheckAsync();
        await change.GetByLabel("Path globs (comma-separated)", new() { Exact = true }).FillAsync("");
        await change.GetByRole(AriaRole.Button, new() { Name = "Save rule" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("rule").First).Not.ToContainTextAsync("(disabled)");
        await ReplaceRuleAsync(admin, coldPath, rule =>
        {
            rule["criteria"]!.AsObject().Remove("excludePathGlobs");
            rule["criteria"]!.AsObject().Remove("minSizeBytes");
        });
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByTestId("preview-cold")).ToContainTextAsync("5.00 MB");

        // A rule another admin changed since the page showed it is not deleted unseen: it is shown as it is now, and deleted once seen.
        await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/rules", new { name = "scratch", action = "exclude", criteria = new { extensions = new[] { "tmp" } } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByTestId("rule")).ToHaveCountAsync(3);
        var scratchId = await gateway.Database.ScalarAsync<Guid>($"SELECT id FROM alto.rule WHERE tenant_id = '{tenantId}' AND name = 'scratch'");
        await ReplaceRuleAsync(admin, $"/api/v1/tenants/{tenantId}/rules/{scratchId}", rule => rule["criteria"]!["extensions"] = new System.Text.Json.Nodes.JsonArray("tmp", "bak"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete scratch" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Another admin changed scratch since this page showed it");
        await Assertions.Expect(page.GetByTestId("rule")).ToHaveCountAsync(3);
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete scratch" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("rule")).ToHaveCountAsync(2);
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveCountAsync(0);

        // Hosts: the admin asks for a scan, queued while no agent is connected, and sets transfer windows.
        await ConsoleBrowser.OpenAsync(page, "Hosts");
        var card = page.GetByRole(AriaRole.Article, new() { Name = "Host fs" });
        await Assertions.Expect(card).ToContainTextAsync("not enrolled yet");
        await Assertions.Expect(card.GetByRole(AriaRole.Table)).ToContainTextAsync("unknown until the agent reports");
        await card.GetByRole(AriaRole.Button, new() { Name = "Scan now" }).ClickAsync();
        await Assertions.Expect(card.GetByText("Scan: queued until the agent connects")).ToBeVisibleAsync();
        await card.GetByRole(AriaRole.Button, new() { Name = "Retry abandoned files" }).ClickAsync();
        await Assertions.Expect(card.GetByText("No abandoned files to try again.")).ToBeVisibleAsync();
        await card.GetByRole(AriaRole.Button, new() { Name = "Release held files" }).ClickAsync();
        await Assertions.Expect(card.GetByText("No held files to release.")).ToBeVisibleAsync();
        await card.GetByText("Settings", new() { Exact = true }).ClickAsync();
        var settings = card.GetByRole(AriaRole.Form, new() { Name = "Settings of fs" });
        await settings.GetByLabel("Transfer windows").FillAsync("every night");
        await settings.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Assertions.Expect(settings.GetByRole(AriaRole.Status)).ToContainTextAsync("line 1 (\"every night\") is not");
        await settings.GetByLabel("Transfer windows").FillAsync("mon-fri 22:00-06:00");
        await settings.GetByLabel("Bandwidth limit (MB/s)").FillAsync("50");
        await settings.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Assertions.Expect(settings.GetByRole(AriaRole.Status)).ToHaveTextAsync("Settings saved.");
        await ConsoleBrowser.ScreenshotAsync(page, "hosts-admin");

        // Another admin changes the host meanwhile: this page's next save is refused and says so, and theirs stands.
        var hostPath = $"/api/v1/tenants/{tenantId}/hosts/" + (await (await admin.GetAsync($"/api/v1/tenants/{tenantId}/hosts")).AssertJsonAsync(HttpStatusCode.OK))
            .GetProperty("items")[0].GetProperty("id").GetGuid();
        await (await admin.PatchAsJsonAsync(hostPath, new { bandwidthLimitBytesPerSecond = 7_000_000 })).AssertJsonAsync(HttpStatusCode.OK);
        await settings.GetByLabel("Bandwidth limit (MB/s)").FillAsync("60");
        await settings.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Assertions.Expect(settings.GetByRole(AriaRole.Status)).ToContainTextAsync("Another admin changed this host's settings since you opened them");
        var theirs = await (await admin.GetAsync(hostPath)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((7_000_000L, "mon-fri"), (theirs.GetProperty("bandwidthLimitBytesPerSecond").GetInt64(), theirs.GetProperty("transferWindows")[0].GetProperty("days").GetString()));
        // Opened again, the panel shows their change, and a change made from there is saved.
        await card.GetByText("Settings", new() { Exact = true }).ClickAsync();
        await card.GetByText("Settings", new() { Exact = true }).ClickAsync();
        await Assertions.Expect(settings.GetByLabel("Bandwidth limit (MB/s)")).ToHaveValueAsync("7");
        await settings.GetByLabel("Bandwidth limit (MB/s)").FillAsync("60");
        await settings.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Assertions.Expect(settings.GetByRole(AriaRole.Status)).ToHaveTextAsync("Settings saved.");
        Assert.Equal(60_000_000, (await (await admin.GetAsync(hostPath)).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("bandwidthLimitBytesPerSecond").GetInt64());

        // A host with files in the inventory stays, saying so; one registered by mistake (and
        // enrolled) has its credential revoked, then goes.
        await card.GetByRole(AriaRole.Button, new() { Name = "Delete fs" }).ClickAsync();
        await Assertions.Expect(card.GetByText("is named by its files in the inventory")).ToBeVisibleAsync();
        var typo = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/hosts", new { name = "fs-tpyo", os = "linux", volumes = new[] { "/srv" } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        using (var anonymous = new HttpClient { BaseAddress = gateway.HttpUrl })
        {
            await (await anonymous.PostAsJsonAsync("/api/v1/agents/enroll", new { token = typo.GetProperty("enrollmentToken").GetString() })).AssertJsonAsync(HttpStatusCode.OK);
        }
        await page.ReloadAsync();
        // Its misspelt name is corrected first; a name another host has is refused in place.
        var misspelt = page.GetByRole(AriaRole.Article, new() { Name = "Host fs-tpyo" });
        await misspelt.GetByText("Settings", new() { Exact = true }).ClickAsync();
        var naming = misspelt.GetByRole(AriaRole.Form, new() { Name = "Settings of fs-tpyo" });
        await naming.GetByLabel("Host name").FillAsync("fs");
        await naming.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Assertions.Expect(naming.GetByRole(AriaRole.Status)).ToContainTextAsync("a host named 'fs' already exists");
        await naming.GetByLabel("Host name").FillAsync("fs-typo");
        await naming.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        var typoCard = page.GetByRole(AriaRole.Article, new() { Name = "Host fs-typo" });
        await Assertions.Expect(typoCard).ToBeVisibleAsync();
        await typoCard.GetByRole(AriaRole.Button, new() { Name = "Delete fs-typo" }).ClickAsync();
        await Assertions.Expect(typoCard.GetByText("revoke its credential first")).ToBeVisibleAsync();
        await typoCard.GetByRole(AriaRole.Button, new() { Name = "Revoke credential" }).ClickAsync();
        await Assertions.Expect(typoCard.GetByText("Credential revoked")).ToBeVisibleAsync();
        await typoCard.GetByRole(AriaRole.Button, new() { Name = "Delete fs-typo" }).ClickAsync();
        await Assertions.Expect(typoCard).ToHaveCountAsync(0);
        await Assertions.Expect(card).ToBeVisibleAsync();

        // Plans: the admin plans for real; the new tenant's job waits for approval, and is approved.
        await ConsoleBrowser.OpenAsync(page, "Plans");
        await Assertions.Expect(page.GetByTestId("queue-empty")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Plan now" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("plan-summary")).ToContainTextAsync("Planned: 10 files evaluated, 5 files (5.00 MB) to tier");
        await Assertions.Expect(page.GetByTestId("waiting-job")).ToHaveCountAsync(1);
        await ConsoleBrowser.ScreenshotAsync(page, "plans-waiting");
        // Another console of the tenant's admins shows the same queue, and follows a decision made elsewhere.
        var other = await browser.SignInAsync(gateway.HttpUrl, "rules-inc-tenant-admin", Password);
        await ConsoleBrowser.OpenAsync(other, "Plans");
        await Assertions.Expect(other.GetByTestId("waiting-job")).ToHaveCountAsync(1);
        // First declined, with a reason and a hold: its files stay out of the next plan.
        await page.GetByLabel("Reason to decline").FillAsync("after the audit");
        await page.GetByLabel("Keep declined files out of plans for (days)").FillAsync("3");
        await page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Decline the job of ") }).ClickAsync();
        await Assertions.Expect(page.GetByText("Declined 1 job(s): 5 files, 5.00 MB, kept out of plans until")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("queue-empty")).ToBeVisibleAsync();
        await Assertions.Expect(other.GetByTestId("queue-empty")).ToBeVisibleAsync();
        await other.CloseAsync();
        Assert.Equal(5, await gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.tier_object WHERE tenant_id = '{tenantId}' AND state = 'SKIPPED' AND next_attempt_utc BETWEEN now() + interval '71 hours' AND now() + interval '73 hours'"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Plan now" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("plan-summary")).ToContainTextAsync("Planned: 10 files evaluated, 0 files");
        await Assertions.Expect(page.GetByTestId("queue-empty")).ToBeVisibleAsync();
        // Once the hold is over (ended here at once), the next plan asks again, and this time it is approved.
        await gateway.Database.ExecuteAsync($"UPDATE alto.tier_object SET next_attempt_utc = now() WHERE tenant_id = '{tenantId}' AND state = 'SKIPPED'");
        await page.GetByRole(AriaRole.Button, new() { Name = "Plan now" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("waiting-job")).ToHaveCountAsync(1);
        await page.GetByRole(AriaRole.Button, new() { Name = "Approve all" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Approved 1 job(s): 5 files")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("queue-empty")).ToBeVisibleAsync();

        // Jobs: the declined job says why; the approved one waits for its agent; nothing is stubbed yet.
        await ConsoleBrowser.OpenAsync(page, "Jobs");
        await Assertions.Expect(page.GetByTestId("job")).ToHaveCountAsync(2);
        await Assertions.Expect(page.GetByTestId("job").Filter(new() { HasText = "declined" })).ToContainTextAsync("declined by user:rules-inc-tenant-admin: after the audit");
        await Assertions.Expect(page.GetByTestId("job").Filter(new() { HasText = "queued" })).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByTestId("state-PLANNED")).ToContainTextAsync("PLANNED5");
        // A job's own files: the queued job has the five planned again; the declined job none now, its files having moved to the new one.
        await page.GetByTestId("job").Filter(new() { HasText = "queued" }).GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Files of the job of ") }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("of-job")).ToContainTextAsync("Of the queued job of");
        await Assertions.Expect(page.GetByTestId("tier-object")).ToHaveCountAsync(5);
        await page.GetByLabel("Tier state").SelectOptionAsync("SKIPPED");
        await Assertions.Expect(page.GetByText("No tier objects yet")).ToBeVisibleAsync();
        await page.GetByLabel("Tier state").SelectOptionAsync("");
        await page.GetByTestId("job").Filter(new() { HasText = "declined" }).GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Files of the job of ") }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("of-job")).ToContainTextAsync("Of the declined job of");
        await Assertions.Expect(page.GetByText("No tier objects yet")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Every job" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("tier-object")).ToHaveCountAsync(5);
        await ConsoleBrowser.ScreenshotAsync(page, "jobs-admin");
        // The queued job, which no agent has, is cancelled from its row: it ends at once, its files kept out of plans for the days asked.
        await page.GetByLabel("Reason to cancel").FillAsync("the wrong share");
        await page.GetByLabel("Keep cancelled files out of plans for (days)").FillAsync("2");
        await page.GetByTestId("job").Filter(new() { HasText = "queued" }).GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Cancel the job of ") }).ClickAsync();
        await Assertions.Expect(page.GetByText("Cancelled: 5 file(s) kept out of plans until")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("job").Filter(new() { HasText = "cancelled by user:rules-inc-tenant-admin: the wrong share" })).ToHaveCountAsync(1);
        Assert.Equal(0, await page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Cancel the job of ") }).CountAsync());
        await Assertions.Expect(page.GetByTestId("state-SKIPPED")).ToContainTextAsync("SKIPPED5");
        Assert.Equal(5, await gateway.Database.CountAsync(
            $"SELECT count(*) FROM alto.tier_object WHERE tenant_id = '{tenantId}' AND state = 'SKIPPED' AND next_attempt_utc BETWEEN now() + interval '47 hours' AND now() + interval '49 hours'"));
        // Released again (the cancellation was a trial), they are the rules' to plan once more.
        Assert.Equal(5, (await (await admin.PostAsJsonAsync(hostPath + "/release-held", new { })).AssertJsonAsync(HttpStatusCode.OK)).GetProperty("files").GetInt32());

        // Sanitizer: a run still going (started while an agent was online) is cancelled from its row, and says by whom.
        var goingRun = await GoingRunAsync(gateway, tenantId);
        await ConsoleBrowser.OpenAsync(page, "Sanitizer");
        await page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Cancel the run started") }).ClickAsync();
        await Assertions.Expect(page.GetByText("Run cancelled.")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("run")).ToContainTextAsync("cancelled: cancelled by user:rules-inc-tenant-admin");
        Assert.Equal(0, await page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Cancel the run started") }).CountAsync());
        Assert.Equal("cancelled", await gateway.Database.ScalarAsync<string>($"SELECT status FROM alto.reconcile_run WHERE id = '{goingRun}'"));
        await GoingRunAsync(gateway, tenantId);

        // Users: the tenant admin acts on its own tenant's users, and is offered nothing on one who is also in another admin's tenant.
        var otherTenant = (await (await admin.PostAsJsonAsync("/api/v1/tenants", new { name = "Other Inc" })).AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        await (await admin.PostAsJsonAsync("/api/v1/users", new { username = "shared-auditor", password = Password, role = "viewer", tenantIds = new[] { tenantId, otherTenant } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        await ConsoleBrowser.OpenAsync(page, "Users");
        await Assertions.Expect(page.GetByTestId("user").Filter(new() { HasText = "shared-auditor" })).ToContainTextAsync("Also in another admin's tenants");
        Assert.Equal(0, await page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("shared-auditor") }).CountAsync());
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Change rules-inc-support" })).ToBeVisibleAsync();

        // Support recalls (here nothing is tiered yet, and it is told so) but neither scans nor changes rules.
        var support = await browser.SignInAsync(gateway.HttpUrl, "rules-inc-support", Password);
        await ConsoleBrowser.OpenAsync(support, "Hosts");
        var supportCard = support.GetByRole(AriaRole.Article, new() { Name = "Host fs" });
        await supportCard.GetByLabel("Paths to recall").FillAsync("/srv/f0.bin");
        await supportCard.GetByRole(AriaRole.Button, new() { Name = "Recall" }).ClickAsync();
        await Assertions.Expect(supportCard.GetByText("Nothing to recall: no stub matches.")).ToBeVisibleAsync();
        Assert.Equal(0, await supportCard.GetByRole(AriaRole.Button, new() { Name = "Scan now" }).CountAsync());
        Assert.Equal(0, await supportCard.GetByRole(AriaRole.Button, new() { Name = "Delete fs" }).CountAsync());
        Assert.Equal(0, await supportCard.GetByRole(AriaRole.Form, new() { Name = "Settings of fs" }).CountAsync());
        await ConsoleBrowser.OpenAsync(support, "Rules");
        await Assertions.Expect(support.GetByTestId("rule")).ToHaveCountAsync(2);
        Assert.Equal(0, await support.GetByRole(AriaRole.Form, new() { Name = "New rule" }).CountAsync());
        Assert.Equal(0, await support.GetByRole(AriaRole.Button, new() { Name = "Drag cold to reorder" }).CountAsync());
        await ConsoleBrowser.OpenAsync(support, "Sanitizer");
        await Assertions.Expect(support.GetByTestId("run").First).ToContainTextAsync("listing");
        Assert.Equal(0, await support.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Cancel the run started") }).CountAsync());
        await ConsoleBrowser.OpenAsync(support, "Audit");
        await Assertions.Expect(support.GetByTestId("audit-entry").First).ToBeVisibleAsync();
        Assert.Equal(0, await support.GetByRole(AriaRole.Button, new() { Name = "Verify the chain" }).CountAsync());
        await ConsoleBrowser.ScreenshotAsync(support, "audit-support");
        Assert.Equal(0, await NavLinkCountAsync(support, "Users"));

        // The viewer reads the rules and their preview, and has no control to change anything.
        var viewer = await browser.SignInAsync(gateway.HttpUrl, "rules-inc-viewer", Password);
        await ConsoleBrowser.OpenAsync(viewer, "Rules");
        await Assertions.Expect(viewer.GetByTestId("rule")).ToHaveCountAsync(2);
        await Assertions.Expect(viewer.GetByTestId("preview-cold")).ToContainTextAsync("5.00 MB");
        Assert.Equal(0, await viewer.GetByRole(AriaRole.Form, new() { Name = "New rule" }).CountAsync());
        Assert.Equal(0, await viewer.GetByRole(AriaRole.Button, new() { Name = "Delete cold" }).CountAsync());
        await ConsoleBrowser.ScreenshotAsync(viewer, "rules-viewer");
        await ConsoleBrowser.OpenAsync(viewer, "Hosts");
        await Assertions.Expect(viewer.GetByRole(AriaRole.Article, new() { Name = "Host fs" })).ToContainTextAsync("mon-fri 22:00-06:00");
        await ConsoleBrowser.ScreenshotAsync(viewer, "hosts-viewer");
        await ConsoleBrowser.OpenAsync(viewer, "Plans");
        await viewer.GetByRole(AriaRole.Button, new() { Name = "Preview a plan" }).ClickAsync();
        await Assertions.Expect(viewer.GetByTestId("plan-summary")).ToContainTextAsync("Preview: 10 files evaluated");
        Assert.Equal(0, await viewer.GetByRole(AriaRole.Button, new() { Name = "Plan now" }).CountAsync());
        foreach (var link in new[] { "Overview", "Hosts", "Inventory", "Rules", "Plans", "Jobs", "Targets" })
        {
            await ConsoleBrowser.OpenAsync(viewer, link);
            await Assertions.Expect(viewer.GetByRole(AriaRole.Status).Filter(new() { HasTextRegex = new Regex("^Loading") })).ToHaveCountAsync(0);
            var writes = viewer.GetByRole(AriaRole.Button).Filter(new() { HasTextRegex = new Regex("Scan|Recall|Approve|Decline|Cancel|Plan now|Add|Turn|Rotate|Delete|Save|Start|Disable|Enable") });
            Assert.True(0 == await writes.CountAsync(), $"the viewer has a write control on {link}");
        }
        foreach (var link in new[] { "Sanitizer", "Audit", "Users", "Tenants" })
        {
            Assert.Equal(0, await NavLinkCountAsync(viewer, link));
        }
        // What the viewer sees no control for, the server refuses too.
        var refused = await viewer.EvaluateAsync<int>($$"""
            async () => (await fetch("/api/v1/tenants/{{tenantId}}/rules/reorder", { method: "POST",
              headers: { "Content-Type": "application/json", Authorization: "Bearer " + JSON.parse(sessionStorage.getItem("alto.session")).accessToken },
              body: JSON.stringify({ ruleIds: [] }) })).status
            """);
        Assert.Equal(403, refused);
        browser.AssertNoErrors();
    }

    [Fact]
    public async Task ThePlatformAdminManagesTenantsUsersTargetsAndTheKeyAndEveryPageFitsATablet()
    {
        await using var gateway = await StartGatewayAsync("console-platform");
        using var admin = await AdminAsync(gateway);
        var tenantId = await TenantWithFilesAsync(gateway, admin, "Platform Co");
        await using var browser = await ConsoleBrowser.LaunchAsync();
        var page = await browser.SignInAsync(gateway.HttpUrl, "admin", GatewayProcess.AdminPassword);

        // Tenants: a new one, which the switcher then offers; the admin switches to it and back.
        await ConsoleBrowser.OpenAsync(page, "Tenants");
        await page.GetByLabel("Tenant name").FillAsync("Second Tenant");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add tenant" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("tenant")).ToHaveCountAsync(2);
        await page.GetByLabel("Tenant name").FillAsync("");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add tenant" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Form, new() { Name = "New tenant" }).GetByRole(AriaRole.Alert)).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("tenant")).ToHaveCountAsync(2);
        await ConsoleBrowser.ScreenshotAsync(page, "tenants");
        // The recovery kit: both tenants, their keys only wrapped.
        var kitDownload = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Download the recovery kit" }).ClickAsync());
        var kit = Keys.RecoveryKit.Parse(await File.ReadAllTextAsync((await kitDownload.PathAsync())!));
        Assert.Equal(["Platform Co", "Second Tenant"], kit.Tenants.Select(tenant => tenant.Name).Order());
        Assert.All(kit.Tenants, tenant => Assert.NotEmpty(tenant.Keys));
        await Assertions.Expect(page.GetByText("Recovery kit downloaded")).ToBeVisibleAsync();
        var switcher = page.GetByRole(AriaRole.Combobox, new() { Name = "Tenant" });
        await switcher.SelectOptionAsync(new SelectOptionValue { Label = "Second Tenant" });
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Tenants" })).ToBeVisibleAsync();
        await Assertions.Expect(page).Not.ToHaveURLAsync(new Regex(tenantId.ToString()));
        await switcher.SelectOptionAsync(tenantId.ToString());

        // Users: a support user for this tenant; a weak password is refused in place.
        await ConsoleBrowser.OpenAsync(page, "Users");
        var form = page.GetByRole(AriaRole.Form, new() { Name = "New user" });
        await form.GetByLabel("New username").FillAsync("helpdesk");
        await form.GetByLabel("New user's password").FillAsync("short");
        await form.GetByLabel("Role").SelectOptionAsync("support");
        await form.GetByRole(AriaRole.Button, new() { Name = "Add user" }).ClickAsync();
        await Assertions.Expect(form.GetByRole(AriaRole.Alert)).ToBeVisibleAsync();
        await form.GetByLabel("New user's password").FillAsync("Helpdesk-pass-2231!");
        await form.GetByRole(AriaRole.Button, new() { Name = "Add user" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("user").Filter(new() { HasText = "helpdesk" })).ToContainTextAsync("support");
        await page.GetByRole(AriaRole.Button, new() { Name = "Disable helpdesk" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("user").Filter(new() { HasText = "helpdesk" })).ToContainTextAsync("(disabled)");
        // Its role changed to viewer, and a new password set: a guessable one is refused in place.
        await page.GetByRole(AriaRole.Button, new() { Name = "Change helpdesk" }).ClickAsync();
        var change = page.GetByRole(AriaRole.Form, new() { Name = "Change helpdesk" });
        await change.GetByLabel("Role").SelectOptionAsync("viewer");
        await change.GetByRole(AriaRole.Button, new() { Name = "Save role and tenants" }).ClickAsync();
        await Assertions.Expect(page.GetByText("helpdesk is now viewer and is signed out.")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("user").Filter(new() { HasText = "helpdesk" })).ToContainTextAsync("viewer");
        await page.GetByRole(AriaRole.Button, new() { Name = "Change helpdesk" }).ClickAsync();
        await change.GetByLabel("New password for helpdesk").FillAsync("password1234");
        await change.GetByRole(AriaRole.Button, new() { Name = "Set password" }).ClickAsync();
        await Assertions.Expect(change.GetByRole(AriaRole.Alert)).ToContainTextAsync("refused");
        await change.GetByLabel("New password for helpdesk").FillAsync("Helpdesk-reset-7781!");
        await change.GetByRole(AriaRole.Button, new() { Name = "Set password" }).ClickAsync();
        await Assertions.Expect(page.GetByText("helpdesk has a new password and is signed out.")).ToBeVisibleAsync();
        await ConsoleBrowser.ScreenshotAsync(page, "users");

        // Targets: a second folder target, then the key rotated.
        await ConsoleBrowser.OpenAsync(page, "Targets");
        await page.GetByLabel("Target name").FillAsync("archive");
        await page.GetByLabel("Folder (an SMB share or any mounted path)").FillAsync("/mnt/tier2/archive");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add target" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("target")).ToHaveCountAsync(2);
        await page.GetByRole(AriaRole.Button, new() { Name = "Turn archive off" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("target").Filter(new() { HasText = "archive" })).ToContainTextAsync("refused");
        // A target a rule names stays, saying so; one added by mistake is deleted.
        var nas = await gateway.Database.ScalarAsync<Guid>($"SELECT id FROM alto.storage_target WHERE tenant_id = '{tenantId}' AND name = 'nas'");
        (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/rules", new { name = "cold", targetId = nas, criteria = new { accessedOlderThanDays = 30 } })).EnsureSuccessStatusCode();
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete nas" }).ClickAsync();
        await Assertions.Expect(page.GetByText("is the target of rule(s) 'cold'")).ToBeVisibleAsync();
        await page.GetByLabel("Target name").FillAsync("typo");
        await page.GetByLabel("Folder (an SMB share or any mounted path)").FillAsync("/mnt/tier2/typo");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add target" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("target")).ToHaveCountAsync(3);
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete typo" }).ClickAsync();
        await Assertions.Expect(page.GetByText("typo is deleted.")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("target")).ToHaveCountAsync(2);
        await page.GetByRole(AriaRole.Button, new() { Name = "Rotate the tenant key" }).ClickAsync();
        await Assertions.Expect(page.GetByText(new Regex("The tenant key is now at version 2"))).ToBeVisibleAsync();
        await ConsoleBrowser.ScreenshotAsync(page, "targets");

        // The audit log: filtered to the rotation, and the platform's own trail verified.
        await ConsoleBrowser.OpenAsync(page, "Audit");
        await page.GetByLabel("Action").FillAsync("tenant.key_rotated");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("audit-entry")).ToHaveCountAsync(1);
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify the chain" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("chain-verdict")).ToContainTextAsync("The chain is intact");
        await page.GetByLabel("The platform's trail", new() { Exact = false }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Clear" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("audit-entry").Filter(new() { HasText = "user.created" }).First).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify the chain" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("chain-verdict")).ToContainTextAsync("The chain is intact");
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Export (JSON Lines)" }).ClickAsync());
        var exported = await File.ReadAllLinesAsync((await download.PathAsync())!);
        Assert.Contains(exported, line => line.Contains("\"action\":\"user.created\"", StringComparison.Ordinal));
        await ConsoleBrowser.ScreenshotAsync(page, "audit-platform");

        // Every page at tablet width: nothing wider than the screen.
        var tablet = await browser.SignInAsync(gateway.HttpUrl, "admin", GatewayProcess.AdminPassword, width: 768, height: 1024);
        foreach (var link in new[] { "Overview", "Hosts", "Inventory", "Rules", "Plans", "Jobs", "Sanitizer", "Audit", "Targets", "Users", "Tenants" })
        {
            await ConsoleBrowser.OpenAsync(tablet, link);
            await Assertions.Expect(tablet.GetByRole(AriaRole.Status).Filter(new() { HasTextRegex = new Regex("^Loading") })).ToHaveCountAsync(0);
            var overflow = await tablet.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
            Assert.True(overflow <= 0, $"{link} is {overflow} px wider than a tablet");
            var unnamed = await tablet.EvaluateAsync<string[]>(UnnamedControls);
            Assert.True(unnamed.Length == 0, $"{link} has controls without a name for screen readers: {string.Join(", ", unnamed)}");
            await ConsoleBrowser.ScreenshotAsync(tablet, $"tablet-{link.ToLowerInvariant()}");
        }
        browser.AssertNoErrors();
    }

    [Fact]
    public async Task ALostConnectionIsShownAndTheConsoleGoesLiveAgainByItself()
    {
        await using var gateway = await StartGatewayAsync("console-lost");
        using var admin = await AdminAsync(gateway);
        var tenantId = (await (await admin.PostAsJsonAsync("/api/v1/tenants", new { name = "Flaky Link" })).AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        // The browser reaches the gateway through a relay the test can cut, as a failing link does.
        await using var link = TcpProxy.To(gateway.HttpUrl.Port);
        var through = new Uri($"http://127.0.0.1:{link.Port}/");
        await using var browser = await ConsoleBrowser.LaunchAsync();
        var page = await browser.NewPageAsync();
        // The chart's code, loaded on demand, cannot be fetched (as when the link fails at that
        // moment): the chart says so, and the rest of the console, live connection included, stays.
        await page.RouteAsync("**/assets/SavingsTrend-*.js", route => route.AbortAsync("connectionreset"));
        await ConsoleBrowser.SignInAsync(page, through, "admin", GatewayProcess.AdminPassword);
        var state = page.GetByTestId("live-state");
        var failedChart = page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "The savings chart could not be shown" });
        await Assertions.Expect(failedChart).ToBeVisibleAsync();
        await Assertions.Expect(state).ToHaveTextAsync("Live", new() { Timeout = 30_000 });
        await page.UnrouteAllAsync();
        await failedChart.GetByRole(AriaRole.Button, new() { Name = "Try again" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Figure, new() { Name = "Savings trend" })).ToContainTextAsync("over the last 90 days");
        await Assertions.Expect(failedChart).ToHaveCountAsync(0);

        link.Cut(stayDown: true);
        await Assertions.Expect(state).ToHaveTextAsync("Connection lost — reconnecting…", new() { Timeout = 30_000 });
        await ConsoleBrowser.ScreenshotAsync(page, "overview-connection-lost");
        link.Restore();
        await Assertions.Expect(state).ToHaveTextAsync("Live", new() { Timeout = 60_000 });

        // Live again for real: an event caused now reaches the page, without a reload.
        await RegisterHostsUntilThePageHearsAsync(page, admin, tenantId, "after");
        // No check of the browser's console here: while the link is down, Chromium logs each refused connection.
    }

    /// <summary>
    /// Registers hosts through the API (a second a host) until the overview's live feed shows an
    /// event, then expects the first host in the page's host table: read again, not reloaded.
    /// </summary>
    private static async Task RegisterHostsUntilThePageHearsAsync(IPage page, HttpClient admin, Guid tenantId, string prefix)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var events = page.GetByTestId("live-events");
        for (var i = 0; !await events.IsVisibleAsync() || !(await events.InnerTextAsync()).Contains("audit", StringComparison.Ordinal); i++)
        {
            Assert.True(DateTime.UtcNow < deadline, "no live event reached the console");
            (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/hosts", new { name = $"{prefix}-{i}", os = "linux", volumes = new[] { "/srv" } })).EnsureSuccessStatusCode();
            await Task.Delay(1000);
        }
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = $"{prefix}-0" })).ToBeVisibleAsync();
    }

    /// <summary>Buttons, fields and lists on the page that a screen reader could not name (no label, no aria-label, no text).</summary>
    private const string UnnamedControls = """
        () => [...document.querySelectorAll("button, input, select, textarea")]
          .filter(control => control.type !== "hidden")
          .filter(control => !control.getAttribute("aria-label") && !control.getAttribute("aria-labelledby")
            && (control.labels?.length ?? 0) === 0 && !(control.tagName === "BUTTON" && control.textContent.trim()))
          .map(control => control.outerHTML.slice(0, 80))
        """;

    private static Task<GatewayProcess> StartGatewayAsync(string purpose)
    {
        ConsoleBrowser.AssertInstalled();
        return GatewayProcess.StartAsync(purpose, TimeSpan.FromSeconds(90));
    }

    /// <summary>An API client signed in as the first platform admin.</summary>
    /// <summary>Another admin's change of a rule through the API: read at its revision, changed by <paramref name="change"/>, and put back at that revision.</summary>
    private static async Task ReplaceRuleAsync(HttpClient admin, string path, Action<System.Text.Json.Nodes.JsonObject> change)
    {
        var read = await admin.GetAsync(path);
        var rule = System.Text.Json.Nodes.JsonNode.Parse((await read.AssertJsonAsync(HttpStatusCode.OK)).GetRawText())!.AsObject();
        change(rule);
        // What the server adds to a rule it shows, and does not take back.
        foreach (var server in new[] { "id", "tenantId", "createdAt", "updatedAt" })
        {
            rule.Remove(server);
        }
        rule["criteria"]!.AsObject().Remove("isEmpty");
        using var put = new HttpRequestMessage(HttpMethod.Put, path) { Content = JsonContent.Create(rule) };
        put.Headers.IfMatch.Add(read.Headers.ETag!);
        await (await admin.SendAsync(put)).AssertJsonAsync(HttpStatusCode.OK);
    }

    private static async Task<HttpClient> AdminAsync(GatewayProcess gateway)
    {
        var admin = new HttpClient { BaseAddress = gateway.HttpUrl };
        var login = await (await admin.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = GatewayProcess.AdminPassword }))
            .AssertJsonAsync(HttpStatusCode.OK);
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.GetProperty("accessToken").GetString());
        return admin;
    }

    /// <summary>A reconciliation run of the tenant's target still listing, as if started while its host's agent was online.</summary>
    private static async Task<Guid> GoingRunAsync(GatewayProcess gateway, Guid tenantId)
    {
        var runId = Guid.NewGuid();
        await gateway.Database.ExecuteAsync($"""
            INSERT INTO alto.reconcile_run (id, tenant_id, target_id, host_id, depth, sample_percent, requests_per_second, status, requested_by, started_at, updated_at)
            SELECT '{runId}', '{tenantId}', t.id, h.id, 'list', 100, 100, 'listing', 'schedule', now(), now()
            FROM alto.storage_target t JOIN alto.host h ON h.tenant_id = t.tenant_id WHERE t.tenant_id = '{tenantId}'
            """);
        return runId;
    }

    /// <summary>
    /// A tenant with a folder target, a host "fs" on /srv whose inventory holds ten files of 1 MB
    /// (the even ones read 400 days ago, the odd ones today), and a user of each tenant role named
    /// after the tenant ("rules-inc-viewer").
    /// </summary>
    private static async Task<Guid> TenantWithFilesAsync(GatewayProcess gateway, HttpClient admin, string name)
    {
        var tenantId = (await (await admin.PostAsJsonAsync("/api/v1/tenants", new { name })).AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/targets", new { name = "nas", kind = "path", settings = new { path = $"/mnt/tier2/{tenantId:N}" } }))
            .EnsureSuccessStatusCode();
        var host = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/hosts", new { name = "fs", os = "linux", volumes = new[] { "/srv" } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        await gateway.Database.ExecuteAsync($"""
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT '{tenantId}', '{host.GetProperty("host").GetProperty("id").GetGuid()}', 0, 'f' || i || '.bin', '/srv/f' || i || '.bin', 1000000,
                   extract(epoch FROM now())::bigint - (CASE WHEN i % 2 = 0 THEN 400 ELSE 0 END) * 86400, 0, 0, 'bin', 0, 0, now()
            FROM generate_series(0, 9) i
            """);
        var prefix = name.ToLowerInvariant().Replace(' ', '-');
        foreach (var role in new[] { "tenant-admin", "support", "viewer" })
        {
            (await admin.PostAsJsonAsync("/api/v1/users", new { username = $"{prefix}-{role}", password = Password, role, tenantIds = new[] { tenantId } }))
                .EnsureSuccessStatusCode();
        }
        return tenantId;
    }

    private static async Task<string[]> RulesAsync(HttpClient admin, Guid tenantId) =>
        [.. (await (await admin.GetAsync($"/api/v1/tenants/{tenantId}/rules")).AssertJsonAsync(HttpStatusCode.OK)).EnumerateArray().Select(rule => rule.GetProperty("name").GetString()!)];

    private static async Task AssertEventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what} did not happen");
            await Task.Delay(200);
        }
    }

    /// <summary>A drag with the mouse in small steps, as a person drags (the list reacts to pointer moves, not to a jump).</summary>
    private static async Task DragAsync(IPage page, ILocator from, ILocator to)
    {
        var start = (await from.BoundingBoxAsync())!;
        var end = (await to.BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(start.X + start.Width / 2, start.Y + start.Height / 2);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(start.X + start.Width / 2, start.Y + start.Height / 2 - 10, new() { Steps = 5 });
        await page.Mouse.MoveAsync(end.X + end.Width / 2, end.Y + end.Height / 2 - 5, new() { Steps = 15 });
        await page.Mouse.UpAsync();
    }

    private static Task<int> NavLinkCountAsync(IPage page, string link) =>
        page.GetByRole(AriaRole.Navigation, new() { Name = "Pages" }).GetByRole(AriaRole.Link, new() { Name = link, Exact = true }).CountAsync();
}
