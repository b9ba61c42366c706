namespace Alto.TestSupport;

/// <summary>Waits for a started program to answer 200 on /readyz, or fails with its output.</summary>
public static class Readiness
{
    public static async Task WaitAsync(Uri baseUrl, ProgramRun run, TimeSpan patience)
    {
        using var client = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + patience;
        while (DateTime.UtcNow < deadline)
        {
            if (run.HasExited)
            {
                // Waiting for the exit drains the output: its last lines (the reason) arrive after the process is gone.
                var exitCode = await run.WaitForExitAsync(TimeSpan.FromSeconds(10));
                throw new InvalidOperationException($"the program exited during start-up (exit code {exitCode}):\n" + run.Output);
            }
            try
            {
                if ((await client.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // A slow first answer; ask again.
            }
            await Task.Delay(250);
        }
        throw new TimeoutException("the program did not become ready:\n" + run.Output);
    }
}
