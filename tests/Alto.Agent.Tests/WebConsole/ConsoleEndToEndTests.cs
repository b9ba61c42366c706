using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Alto.Agent.Tests.Jobs;
using Alto.TestSupport;
using Microsoft.Playwright;

namespace Alto.Agent.Tests.WebConsole;

/// <summary>
/// The console driving the whole product: a real gateway and silo, PostgreSQL, and the real agent
/// on a loop-mounted volume of its own, watched in Debian's Chromium. An admin finds the cold
/// folder in the inventory and approves the job its scan planned; the jobs page shows the files reach tier 2 live,
/// without a reload; a recall of the folder started from the hosts page finishes and the files
/// read back whole; the sanitizer checks the target; the audit log, filtered, shows the recall and
/// its chain verifies. Every page is photographed.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ConsoleEndToEndTests(RunningGateway running) : IClassFixture<RunningGateway>
{
    private const int ColdFiles = 12;
    private static readonly float Patience = (float)TieringWorld.Patience.TotalMilliseconds;

    [Fact]
    public async Task AnAdminTiersAFolderFromTheConsoleWatchesItLiveRecallsItAndVerifiesTheAudit()
    {
        ConsoleBrowser.AssertInstalled();
        await using var world = await TieringWorld.CreateAsync(running.Gateway);
        // Plans wait for an admin here, as they do for a new tenant.
        await world.Admin.PatchAsync($"/api/v1/tenants/{world.TenantId}", new { planApproval = "manual" });
        var cold = Path.Combine(world.Volume.Root, "projects", "2019");
        Directory.CreateDirectory(cold);
        Directory.CreateDirectory(Path.Combine(world.Volume.Root, "projects", "2026"));
        var hashes = new Dictionary<string, string>();
        for (var i = 0; i < ColdFiles; i++)
        {
            var path = Path.Combine(cold, $"drawing-{i}.dwg");
            hashes[path] = await TieringWorld.WriteOldFileAsync(path, 64);
        }
        await File.WriteAllTextAsync(Path.Combine(world.Volume.Root, "projects", "2026", "plan.txt"), "in use");
        var agent = world.StartAgent();
        await world.WaitForRecallAsync(armed: true, agent);
        await world.ScanAsync();

        await using var browser = await ConsoleBrowser.LaunchAsync();
        var page = await browser.SignInAsync(world.Gateway.HttpUrl, "admin", GatewayProcess.AdminPassword);
        await page.GetByRole(AriaRole.Combobox, new() { Name = "Tenant" }).SelectOptionAsync(world.TenantId.ToString());
        await Assertions.Expect(page.GetByTestId("capacity-total")).ToHaveTextAsync("786 kB", new() { Timeout = Patience });
        await Assertions.Expect(page.GetByTestId("jobs-awaiting")).ToHaveTextAsync("1", new() { Timeout = Patience });
        await Assertions.Expect(page.GetByTestId("live-state")).ToHaveTextAsync("Live", new() { Timeout = Patience });
        await ConsoleBrowser.ScreenshotAsync(page, "e2e-overview");

        // The inventory: the tree leads to the cold folder; a search finds its files, still local.
        await ConsoleBrowser.OpenAsync(page, "Inventory");
        var folders = page.GetByRole(AriaRole.Table, new() { Name = "Folders" });
        await folders.GetByRole(AriaRole.Button, new() { Name = "projects" }).ClickAsync();
        await Assertions.Expect(folders.GetByTestId("folder")).ToHaveCountAsync(2);
        await Assertions.Expect(folders.GetByTestId("folder").First).ToContainTextAsync("2019");
        await page.GetByLabel("Path glob").FillAsync($"{cold}/*.dwg");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("found-file")).ToHaveCountAsync(ColdFiles);
        await page.GetByRole(AriaRole.Button, new() { Name = Path.Combine(cold, "drawing-0.dwg"), Exact = true }).ClickAsync();
        // The scan planned it already; the job waits for an admin.
        await Assertions.Expect(page.GetByTestId("file-tier-state")).ToHaveTextAsync("PLANNED");
        await ConsoleBrowser.ScreenshotAsync(page, "e2e-inventory");

        // A second tab watches the jobs page while the first plans and approves.
        var watcher = await browser.SignInAsync(world.Gateway.HttpUrl, "admin", GatewayProcess.AdminPassword);
        await watcher.GotoAsync(new Uri(world.Gateway.HttpUrl, $"/tenants/{world.TenantId}/jobs").ToString());
        await Assertions.Expect(watcher.GetByTestId("live-state")).ToHaveTextAsync("Live", new() { Timeout = Patience });
        await Assertions.Expect(watcher.GetByTestId("state-STUBBED")).ToHaveCountAsync(0);

        await ConsoleBrowser.OpenAsync(page, "Plans");
        await Assertions.Expect(page.GetByTestId("waiting-job")).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByTestId("waiting-job")).ToContainTextAsync($"old{ColdFiles}");
        await ConsoleBrowser.ScreenshotAsync(page, "e2e-plans");
        await page.GetByRole(AriaRole.Button, new() { Name = "Approve all" }).ClickAsync();
        await Assertions.Expect(page.GetByText($"Approved 1 job(s): {ColdFiles} files")).ToBeVisibleAsync();

        // Without a reload, the watching tab sees the files reach tier 2 and the job end.
        await Assertions.Expect(watcher.GetByTestId("state-STUBBED")).ToContainTextAsync($"STUBBED{ColdFiles}", new() { Timeout = Patience });
        await Assertions.Expect(watcher.GetByTestId("job").First).ToContainTextAsync("completed", new() { Timeout = Patience });
        await ConsoleBrowser.ScreenshotAsync(watcher, "e2e-jobs");
        Assert.Equal(ColdFiles, await world.CountAsync("state = 'STUBBED'"));

        // Recall the folder from the hosts page; the progress ends with every file back.
        await ConsoleBrowser.OpenAsync(page, "Hosts");
        var recall = page.GetByRole(AriaRole.Form, new() { Name = "Recall on fs-world" });
        await recall.GetByRole(AriaRole.Radio, new() { Name = "by directory" }).CheckAsync();
        await recall.GetByLabel("Folder to recall").FillAsync(cold);
        await recall.GetByRole(AriaRole.Button, new() { Name = "Recall" }).ClickAsync();
        await Assertions.Expect(recall.GetByTestId("recall-progress")).ToHaveTextAsync(
            $"Recall finished: {ColdFiles} of {ColdFiles} file(s) back.", new() { Timeout = Patience });
        await ConsoleBrowser.ScreenshotAsync(page, "e2e-hosts-recalled");
        foreach (var (path, hash) in hashes)
        {
            Assert.Equal(hash, await TieringWorld.ReadByAnotherProgramAsync(path));
        }

        // The file's history tells its whole story: stubbed, then recalled.
        await ConsoleBrowser.OpenAsync(page, "Inventory");
        await page.GetByLabel("Path glob").FillAsync($"{cold}/drawing-0.dwg");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = Path.Combine(cold, "drawing-0.dwg"), Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("file-tier-state")).ToHaveTextAsync("RECALLED");
        var story = page.GetByRole(AriaRole.List, new() { Name = "File history" });
        await Assertions.Expect(story).ToContainTextAsync("tier.stubbed");
        await Assertions.Expect(story).ToContainTextAsync("tier.recalled");
        await ConsoleBrowser.ScreenshotAsync(page, "e2e-file-history");

        // The sanitizer checks the target through the online agent.
        await ConsoleBrowser.OpenAsync(page, "Sanitizer");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start a run" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("run").First).ToContainTextAsync("completed", new() { Timeout = Patience });
        await ConsoleBrowser.ScreenshotAsync(page, "e2e-sanitizer");

        // The audit log, filtered to recall requests, shows the one made here, and the chain verifies.
        await ConsoleBrowser.OpenAsync(page, "Audit");
        await page.GetByLabel("Action").FillAsync("host.recall_requested");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("audit-entry")).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByTestId("audit-entry")).ToContainTextAsync("admin");
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify the chain" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("chain-verdict")).ToHaveTextAsync(new Regex("^The chain is intact: [0-9]+ entries verified\\.$"));
        await ConsoleBrowser.ScreenshotAsync(page, "e2e-audit");

        browser.AssertNoErrors();
        await agent.StopAsync(TimeSpan.FromSeconds(30));
    }
}
