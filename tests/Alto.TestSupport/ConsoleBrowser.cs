using Microsoft.Playwright;

namespace Alto.TestSupport;

/// <summary>
/// Debian's Chromium (scripts/test.sh installs it) driven by Playwright, for tests of the console
/// against a real gateway. Each page has a context of its own (its own session storage); the
/// errors any page logs are collected, and screenshots go to .state/test-results/screenshots.
/// </summary>
public sealed class ConsoleBrowser : IAsyncDisposable
{
    public const string Chromium = "/usr/bin/chromium";

    public static readonly string Screenshots = Path.Combine(RepositoryPaths.Root, ".state", "test-results", "screenshots");

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly List<string> _errors = [];

    private ConsoleBrowser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        _browser = browser;
    }

    /// <summary>Fails at once, saying how to get it, when Chromium is not installed.</summary>
    public static void AssertInstalled() =>
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run the suite with scripts/test.sh, or apt-get install chromium");

    /// <summary>
    /// How long an expectation waits for the page to show what it expects. Playwright's 5 s was
    /// once too short in a full run on two cores (test classes side by side, each with a gateway
    /// and a silo): a tenant added by the console did not show in its list within it. A page that
    /// never shows it still fails, later.
    /// </summary>
    public const float ExpectTimeoutMilliseconds = 15_000;

    public static async Task<ConsoleBrowser> LaunchAsync()
    {
        AssertInstalled();
        Assertions.SetDefaultExpectTimeout(ExpectTimeoutMilliseconds);
        Directory.CreateDirectory(Screenshots);
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        return new ConsoleBrowser(playwright, browser);
    }

    /// <summary>A page of its own context at the given size (1280×800 unless told), whose errors are collected.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 800)
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height }, AcceptDownloads = true });
        var page = await context.NewPageAsync();
        // The browser logs every 4xx answer; the API's refusals (a wrong password, a duplicate rule)
        // are answers the page shows, not errors of the page.
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.Contains("the server responded with a status of 4", StringComparison.Ordinal))
            {
                lock (_errors)
                {
                    _errors.Add($"{page.Url}: {message.Text}");
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_errors)
            {
                _errors.Add($"{page.Url}: {error}");
            }
        };
        return page;
    }

    /// <summary>A new page signed in as the user, on the overview of its first tenant.</summary>
    public async Task<IPage> SignInAsync(Uri gateway, string username, string password, int width = 1280, int height = 800)
    {
        var page = await NewPageAsync(width, height);
        await SignInAsync(page, gateway, username, password);
        return page;
    }

    /// <summary>Signs the user in on a page the test prepared (one whose requests it intercepts).</summary>
    public static async Task SignInAsync(IPage page, Uri gateway, string username, string password)
    {
        await page.GotoAsync(new Uri(gateway, "/sign-in").ToString());
        await page.GetByLabel("Username").FillAsync(username);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();
    }

    /// <summary>Opens a page of the console by its link in the header.</summary>
    public static async Task OpenAsync(IPage page, string link)
    {
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Pages" }).GetByRole(AriaRole.Link, new() { Name = link, Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToBeVisibleAsync();
    }

    /// <summary>Saves the page's picture, and fails when its layout is broken (<see cref="LayoutFaults"/>).</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, $"{name}.png"), FullPage = true });
        var faults = await page.EvaluateAsync<string[]>(LayoutFaults);
        Assert.True(faults.Length == 0, $"the page of screenshot {name} is laid out wrong:\n{string.Join('\n', faults)}");
    }

    /// <summary>
    /// What a reader would see as broken, found from the laid-out boxes: a check box or radio button
    /// that is not on the line of its label's text, beside it (a form's rule for its labels had
    /// stacked them apart, the button far from its words); and a table cell laid out as something
    /// else (a cell made a flex box leaves its row, and the row's lines no longer meet).
    /// </summary>
    private const string LayoutFaults = """
        () => {
          const faults = [];
          for (const label of document.querySelectorAll("label")) {
            const box = label.querySelector("input[type=checkbox], input[type=radio]");
            const words = [...label.childNodes].find(node => node.nodeType === Node.TEXT_NODE && node.textContent.trim());
            if (!box || !words || box.getClientRects().length === 0) continue;
            const range = document.createRange();
            range.selectNodeContents(words);
            const text = range.getClientRects()[0], mark = box.getBoundingClientRect();
            const middle = (mark.top + mark.bottom) / 2;
            const onTheLine = middle >= text.top && middle <= text.bottom;
            const beside = Math.min(Math.abs(text.left - mark.right), Math.abs(mark.left - text.right)) <= 24;
            if (!onTheLine || !beside) faults.push(`"${label.textContent.trim()}": its ${box.type} is not beside its words`);
          }
          for (const cell of document.querySelectorAll("td, th")) {
            const display = getComputedStyle(cell).display;
            if (display !== "table-cell" && display !== "none") faults.push(`a table cell "${cell.textContent.trim().slice(0, 40)}" is laid out as ${display}`);
          }
          return faults;
        }
        """;

    /// <summary>No page logged an error or threw.</summary>
    public void AssertNoErrors()
    {
        lock (_errors)
        {
            Assert.True(_errors.Count == 0, string.Join('\n', _errors));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
