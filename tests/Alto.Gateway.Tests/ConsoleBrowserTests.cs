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
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run the suite with scripts/test.sh, or apt-get install chromium");
        await using var gateway = await GatewayProcess.StartAsync("console", TimeSpan.FromSeconds(90));
        using var admin = new HttpClient { BaseAddress = gateway.HttpUrl };
        var login = await (await admin.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = GatewayProcess.AdminPassword }))
            .AssertJsonAsync(HttpStatusCode.OK);
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.GetProperty("accessToken").GetString());
        var tenant = await (await admin.PostAsJsonAsync("/api/v1/tenants", new { name = "Acme" })).AssertJsonAsync(HttpStatusCode.Created);
        var tenantId = tenant.GetProperty("id").GetGuid();
        const string viewerPassword = "Console-viewer-pass-4471!";
        (await admin.PostAsJsonAsync("/api/v1/users", new { username = "console-viewer", password = viewerPassword, role = "viewer", tenantIds = new[] { tenantId } }))
            .EnsureSuccessStatusCode();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
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
        var viewer = await NewPageAsync(browser, errors);
        await viewer.GotoAsync(new Uri(gateway.HttpUrl, "/sign-in").ToString());
        await viewer.GetByLabel("Username").FillAsync("console-viewer");
        await viewer.GetByLabel("Password").FillAsync(viewerPassword);
        await viewer.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(viewer.GetByRole(AriaRole.Combobox, new() { Name = "Tenant" })).ToHaveValueAsync(tenantId.ToString());
        await Assertions.Expect(viewer.GetByTestId("savings-month")).ToHaveTextAsync("$0.00");
        await viewer.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "overview-viewer.png"), FullPage = true });

        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    /// <summary>A page of its own context (its own session storage), whose console errors are collected.</summary>
    private static async Task<IPage> NewPageAsync(IBrowser browser, List<string> errors)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        var page = await context.NewPageAsync();
        // A refused sign-in is an answer the page shows, not an error of the page.
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.Contains("401", StringComparison.Ordinal))
            {
                errors.Add($"{page.Url}: {message.Text}");
            }
        };
        page.PageError += (_, error) => errors.Add($"{page.Url}: {error}");
        return page;
    }
}
