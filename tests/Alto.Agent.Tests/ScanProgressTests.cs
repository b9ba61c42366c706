using Alto.Agent.Scanning;

namespace Alto.Agent.Tests;

[Trait("Layer", "Unit")]
public sealed class ScanProgressTests
{
    [Theory]
    [InlineData(false, "scan progress: ")]
    [InlineData(true, "\r")]
    public async Task ProgressShowsFilesBytesRateAndErrors(bool interactive, string linePrefix)
    {
        var counters = new ScanCounters();
        counters.AddFile(2048);
        counters.AddFile(1024);
        counters.AddPermissionDenied();
        var output = new StringWriter();

        await using (var progress = new ScanProgress(counters, output, interactive, TimeSpan.FromMilliseconds(20)))
        {
            progress.Start();
            await Task.Delay(200);
        }

        var text = output.ToString();
        Assert.StartsWith(linePrefix, text, StringComparison.Ordinal);
        Assert.Contains("2 files, 3.0 KiB, ", text, StringComparison.Ordinal);
        Assert.Contains(" files/s, 1 errors", text, StringComparison.Ordinal);
        // A terminal line is rewritten in place; a log gets whole lines.
        Assert.Equal(interactive, !text.Split('\n')[0].StartsWith("scan progress", StringComparison.Ordinal));
    }
}
