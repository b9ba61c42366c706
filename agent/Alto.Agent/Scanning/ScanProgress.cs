using System.Diagnostics;

namespace Alto.Agent.Scanning;

/// <summary>
/// Shows a scan's progress: a line rewritten in place on a terminal, or a plain log line every
/// few seconds when the output goes to a file or a journal.
/// </summary>
public sealed class ScanProgress(ScanCounters counters, TextWriter output, bool interactive, TimeSpan? period = null) : IAsyncDisposable
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public TimeSpan Elapsed => _clock.Elapsed;

    public void Start() => _loop = RunAsync();

    public string Line()
    {
        var seconds = Math.Max(_clock.Elapsed.TotalSeconds, 0.001);
        return $"{counters.Files:N0} files, {Format.Bytes(counters.Bytes)}, {counters.Files / seconds:N0} files/s, {counters.Errors:N0} errors";
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
        if (interactive)
        {
            await output.WriteLineAsync();
        }
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(period ?? (interactive ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromSeconds(5)));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                if (interactive)
                {
                    await output.WriteAsync($"\r{Line()}   ");
                }
                else
                {
                    await output.WriteLineAsync($"scan progress: {Line()}");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Scan finished.
        }
    }
}
