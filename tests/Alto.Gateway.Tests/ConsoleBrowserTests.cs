using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Alto.TestSupport;
using Microsoft.Playwright;

namespace Alto.Gateway.Tests;

/// <summary>
/// The console in a real browser: Debian's Chromium (scripts/test.sh installs it) driven by
/// Playwright against a real gateway process. A refused sign-in shows the API's answer; the
/// overview shows the tenant's figures and goes live, and an event caused through the API
/// appears without a reload; no page logs an error. Screenshots go to .state/test-results/screenshots.
/// </summary>
public sealed class ConsoleBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    private static readonly string Screenshots = Path.Combine(RepositoryPaths.Root, ".state", "test-results", "screenshots");

    [Fact]
    public async Task AnAdminSignsInSeesTheOverviewAndItsLiveFeedAndAViewerSeesItsTenant()
    {
        await using var gateway = await StartGatewayAsync("console");
        using var admin = await AdminAsync(gateway);
        var tenant = await (await admin.PostAsJsonAsync("/api/v1/tenants", new { name = "Acme" })).AssertJsonAsync(HttpStatusCode.Created);
        var tenantId = tenant.GetProperty("id").GetGuid();
        const string viewerPassword = "Console-viewer-pass-4471!";
        (await admin.PostAsJsonAsync("/api/v1/users", new { username = "console-viewer", password = viewerPassword, role = "viewer", tenantIds = new[] { tenantId } }))
            .EnsureSuccessStatusCode();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        Directory.CreateDirectory(Screenshots);
        var errors = new List<string>();

        // The platform admin: a wrong password is refused in place, the right one opens the overview.
        var page = await NewPageAsync(browser, errors);
        await page.GotoAsync(gateway.HttpUrl.ToString());
        await page.GetByLabel("Username").FillAsync("admin");
        await page.GetByLabel("Password").FillAsync("not-the-password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("password");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "sign-in-refused.png") });
        await page.GetByLabel("Password").FillAsync(GatewayProcess.AdminPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"/tenants/{tenantId}$"));
        await Assertions.Expect(page.GetByTestId("capacity-total")).ToHaveTextAsync("0 B");
        await Assertions.Expect(page.GetByTestId("hosts-online")).ToHaveTextAsync("0 of 0 online");
        await Assertions.Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Live" })).ToHaveTextAsync("Live", new() { Timeout = 30_000 });

        // Something happens through the API: the page hears of it and reads the hosts again, without a reload.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var events = page.GetByTestId("live-events");
        for (var i = 0; !await events.IsVisibleAsync() || !(await events.InnerTextAsync()).Contains("audit", StringComparison.Ordinal); i++)
        {
            Assert.True(DateTime.UtcNow < deadline, "no live event reached the console");
            (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/hosts", new { name = $"fs-{i}", os = "linux", volumes = new[] { "/srv" } })).EnsureSuccessStatusCode();
            await Task.Delay(1000);
        }
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByTestId("hosts-online")).ToContainTextAsync("0 of ");
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "fs-0" })).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "overview-admin.png"), FullPage = true });

        // The viewer sees its one tenant.
        var viewer = await SignInAsync(browser, errors, gateway, "console-viewer", viewerPassword);
        await Assertions.Expect(viewer.GetByRole(AriaRole.Combobox, new() { Name = "Tenant" })).ToHaveValueAsync(tenantId.ToString());
        await Assertions.Expect(viewer.GetByTestId("savings-month")).ToHaveTextAsync("$0.00");
        await viewer.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "overview-viewer.png"), FullPage = true });

        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    [Fact]
    public async Task EachRoleSeesOnlyTheControlsItMayUseOnTheRulesHostsAndPlansPages()
    {
        await using var gateway = await StartGatewayAsync("console-rules");
        using var admin = await AdminAsync(gateway);
        var tenantId = (await (await admin.PostAsJsonAsync("/api/v1/tenants", new { name = "Rules Inc" })).AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/targets", new { name = "nas", kind = "path", settings = new { path = "/mnt/tier2/console" } })).EnsureSuccessStatusCode();
        var host = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenantId}/hosts", new { name = "fs", os = "linux", volumes = new[] { "/srv" } }))
            .AssertJsonAsync(HttpStatusCode.Created);
        // Ten files of 1 MB under /srv, the even ones read 400 days ago, the odd ones today.
        await gateway.Database.ExecuteAsync($"""
            INSERT INTO alto.file_current (tenant_id, host_id, dir_id, name, full_path, size_bytes, atime_unix, mtime_unix, ctime_unix,
                                           file_extension, first_seen_scan_id, last_seen_scan_id, last_scan_utc)
            SELECT '{tenantId}', '{host.GetProperty("host").GetProperty("id").GetGuid()}', 0, 'f' || i || '.bin', '/srv/f' || i || '.bin', 1000000,
                   extract(epoch FROM now())::bigint - (CASE WHEN i % 2 = 0 THEN 400 ELSE 0 END) * 86400, 0, 0, 'bin', 0, 0, now()
            FROM generate_series(0, 9) i
            """);
        const string password = "Console-rules-pass-8812!";
        foreach (var role in new[] { "tenant-admin", "support", "viewer" })
        {
            (await admin.PostAsJsonAsync("/api/v1/users", new { username = $"rules-{role}", password, role, tenantIds = new[] { tenantId } })).EnsureSuccessStatusCode();
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var errors = new List<string>();
        var page = await SignInAsync(browser, errors, gateway, "rules-tenant-admin", password);
        await page.GetByRole(AriaRole.Link, new() { Name = "Rules" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No rule yet")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("preview-unmatched")).ToContainTextAsync("10");

        // Typing the rule previews it: five cold files match, five stay.
        var editor = page.GetByRole(AriaRole.Form, new() { Name = "New rule" });
        await editor.GetByLabel("Name", new() { Exact = true }).FillAsync("cold");
        await editor.GetByLabel("Target", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "nas" });
        await editor.GetByLabel("Not read for (days)", new() { Exact = true }).FillAsync("90");
        await Assertions.Expect(page.GetByTestId("preview-cold")).ToContainTextAsync("5.00 MB");
        await Assertions.Expect(page.GetByTestId("preview-unmatched")).ToContainTextAsync("5.00 MB");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "rules-preview.png"), FullPage = true });
        await editor.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("rule")).ToHaveCountAsync(1);

        // The API's refusal shows beside the field it is about; nothing is added.
        await editor.GetByLabel("Name", new() { Exact = true }).FillAsync("cold");
        await editor.GetByLabel("Target", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "nas" });
        await editor.GetByLabel("Not read for (days)", new() { Exact = true }).FillAsync("30");
        await editor.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Assertions.Expect(editor.GetByRole(AriaRole.Alert)).ToContainTextAsync("already exists");
        await Assertions.Expect(page.GetByTestId("rule")).ToHaveCountAsync(1);

        // Hosts: the admin asks for a scan, queued while no agent is connected.
        await page.GetByRole(AriaRole.Link, new() { Name = "Hosts" }).ClickAsync();
        var card = page.GetByRole(AriaRole.Article, new() { Name = "Host fs" });
        await Assertions.Expect(card).ToContainTextAsync("not enrolled yet");
        await Assertions.Expect(card.GetByRole(AriaRole.Table)).ToContainTextAsync("unknown until the agent reports");
        await card.GetByRole(AriaRole.Button, new() { Name = "Scan now" }).ClickAsync();
        await Assertions.Expect(card.GetByRole(AriaRole.Status)).ToContainTextAsync("Scan: queued until the agent connects");
        await Assertions.Expect(card.GetByRole(AriaRole.Definition).Nth(2)).ToHaveTextAsync("1");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "hosts-admin.png"), FullPage = true });

        // Plans: the admin plans for real; the new tenant's job waits for approval, and is approved.
        await page.GetByRole(AriaRole.Link, new() { Name = "Plans" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("queue-empty")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Plan now" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("plan-summary")).ToContainTextAsync("Planned: 10 files evaluated, 5 files (5.00 MB) to tier");
        await Assertions.Expect(page.GetByTestId("waiting-job")).ToHaveCountAsync(1);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "plans-waiting.png"), FullPage = true });
        await page.GetByRole(AriaRole.Button, new() { Name = "Approve all" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Approved 1 job(s): 5 files")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("queue-empty")).ToBeVisibleAsync();

        // Support recalls but neither scans nor changes rules.
        var support = await SignInAsync(browser, errors, gateway, "rules-support", password);
        await support.GetByRole(AriaRole.Link, new() { Name = "Hosts" }).ClickAsync();
        var supportCard = support.GetByRole(AriaRole.Article, new() { Name = "Host fs" });
        await supportCard.GetByLabel("Paths to recall").FillAsync("/srv/f0.bin");
        await supportCard.GetByRole(AriaRole.Button, new() { Name = "Recall" }).ClickAsync();
        await Assertions.Expect(supportCard.GetByRole(AriaRole.Status)).ToContainTextAsync("Recall: queued until the agent connects");
        Assert.Equal(0, await supportCard.GetByRole(AriaRole.Button, new() { Name = "Scan now" }).CountAsync());
        await support.GetByRole(AriaRole.Link, new() { Name = "Rules" }).ClickAsync();
        await Assertions.Expect(support.GetByTestId("rule")).ToHaveCountAsync(1);
        Assert.Equal(0, await support.GetByRole(AriaRole.Form, new() { Name = "New rule" }).CountAsync());

        // The viewer reads the rules and their preview, and has no control to change them.
        var viewer = await SignInAsync(browser, errors, gateway, "rules-viewer", password);
        await viewer.GetByRole(AriaRole.Link, new() { Name = "Rules" }).ClickAsync();
        await Assertions.Expect(viewer.GetByTestId("rule")).ToHaveCountAsync(1);
        await Assertions.Expect(viewer.GetByTestId("preview-cold")).ToContainTextAsync("5.00 MB");
        Assert.Equal(0, await viewer.GetByRole(AriaRole.Form, new() { Name = "New rule" }).CountAsync());
        Assert.Equal(0, await viewer.GetByRole(AriaRole.Button, new() { Name = "Delete cold" }).CountAsync());
        await viewer.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "rules-viewer.png"), FullPage = true });
        await viewer.GetByRole(AriaRole.Link, new() { Name = "Hosts" }).ClickAsync();
        await Assertions.Expect(viewer.GetByRole(AriaRole.Article, new() { Name = "Host fs" })).ToBeVisibleAsync();
        Assert.Equal(0, await viewer.GetByRole(AriaRole.Button).Filter(new() { HasTextRegex = new System.Text.RegularExpressions.Regex("Scan now|Recall|New enrollment token") }).CountAsync());
        await viewer.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "hosts-viewer.png"), FullPage = true });
        await viewer.GetByRole(AriaRole.Link, new() { Name = "Plans" }).ClickAsync();
        await viewer.GetByRole(AriaRole.Button, new() { Name = "Preview a plan" }).ClickAsync();
        await Assertions.Expect(viewer.GetByTestId("plan-summary")).ToContainTextAsync("Preview: 10 files evaluated");
        Assert.Equal(0, await viewer.GetByRole(AriaRole.Button, new() { Name = "Plan now" }).CountAsync());

        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    /// <summary>A gateway process of its own, once the browser these tests drive is known to be there.</summary>
    private static Task<GatewayProcess> StartGatewayAsync(string purpose)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run the suite with scripts/test.sh, or apt-get install chromium");
        return GatewayProcess.StartAsync(purpose, TimeSpan.FromSeconds(90));
    }

    /// <summary>An API client signed in as the first platform admin.</summary>
    private static async Task<HttpClient> AdminAsync(GatewayProcess gateway)
    {
        var admin = new HttpClient { BaseAddress = gateway.HttpUrl };
        var login = await (await admin.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = GatewayProcess.AdminPassword }))
            .AssertJsonAsync(HttpStatusCode.OK);
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.GetProperty("accessToken").GetString());
        return admin;
    }

    private static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = Chromium,
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });

    private static async Task<IPage> SignInAsync(IBrowser browser, List<string> errors, GatewayProcess gateway, string username, string password)
    {
        Directory.CreateDirectory(Screenshots);
        var page = await NewPageAsync(browser, errors);
        await page.GotoAsync(new Uri(gateway.HttpUrl, "/sign-in").ToString());
        await page.GetByLabel("Username").FillAsync(username);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();
        return page;
    }

    /// <summary>A page of its own context (its own session storage), whose console errors are collected.</summary>
    private static async Task<IPage> NewPageAsync(IBrowser browser, List<string> errors)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        var page = await context.NewPageAsync();
        // The browser logs every 4xx answer; the API's refusals (a wrong password, a duplicate rule)
        // are answers the page shows, not errors of the page.
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.Contains("the server responded with a status of 4", StringComparison.Ordinal))
            {
                errors.Add($"{page.Url}: {message.Text}");
            }
        };
        page.PageError += (_, error) => errors.Add($"{page.Url}: {error}");
        return page;
    }
}
