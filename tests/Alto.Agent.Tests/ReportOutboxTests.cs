using Alto.Agent.Connection;
using Alto.Protocol.Agent.V1;
using Alto.TestSupport;

namespace Alto.Agent.Tests;

/// <summary>The outbox of reports the cluster must not lose, read back after a crash or a damage.</summary>
[Trait("Layer", "Unit")]
public sealed class ReportOutboxTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("alto-outbox-").FullName;

    public void Dispose() => Directory.Delete(_state, true);

    private static string Line(string id) => "+ " + Convert.ToBase64String(Google.Protobuf.MessageExtensions.ToByteArray(new AgentMessage { Id = id })) + "\n";

    [Fact]
    public async Task ALastLineCutShortByACrashIsPassedOverQuietly()
    {
        var cut = Line("r3");
        await File.WriteAllTextAsync(Path.Combine(_state, ReportOutbox.FileName), Line("r1") + Line("r2") + "- r1\n" + cut[..(cut.Length / 2)]);
        var lines = new LinesLogger();

        using var outbox = new ReportOutbox(_state, lines.For("outbox"));

        Assert.Equal(["r2"], outbox.Pending().Select(report => report.Id));
        Assert.Empty(lines.Lines);
    }

    /// <summary>A damaged line before the last one held a report that will never be sent: said, not passed over.</summary>
    [Fact]
    public async Task DamagedLinesBeforeTheLastAreSaidAsLostReports()
    {
        await File.WriteAllTextAsync(Path.Combine(_state, ReportOutbox.FileName), Line("r1") + "+ not base64 at all\n" + "garbage\n" + Line("r2"));
        var lines = new LinesLogger();

        using (var outbox = new ReportOutbox(_state, lines.For("outbox")))
        {
            Assert.Equal(["r1", "r2"], outbox.Pending().Select(report => report.Id));
            Assert.Single(lines.Lines, line => line.Contains($"Error: 2 line(s) of {Path.Combine(_state, ReportOutbox.FileName)} could not be read: the reports they held are lost", StringComparison.Ordinal));
        }

        // The file as it was rewritten at start holds the readable reports only: read again, nothing more is lost or said.
        using var again = new ReportOutbox(_state, lines.For("again"));
        Assert.Equal(["r1", "r2"], again.Pending().Select(report => report.Id));
        Assert.DoesNotContain(lines.Lines, line => line.Contains(" again ", StringComparison.Ordinal));
    }

    [Fact]
    public void ReportsBeyondTheBoundDropTheOldestAndSaySo()
    {
        var lines = new LinesLogger();
        using var outbox = new ReportOutbox(_state, lines.For("outbox"));

        for (var i = 0; i < ReportOutbox.MaxPending + 2; i++)
        {
            outbox.Add(new AgentMessage { Id = $"r{i}" });
        }

        Assert.Equal(ReportOutbox.MaxPending, outbox.Count);
        Assert.False(outbox.Holds("r0"));
        Assert.Single(lines.Lines, line => line.Contains($"Warning: More than {ReportOutbox.MaxPending} reports wait for the gateway: the oldest are dropped (1 so far", StringComparison.Ordinal));
    }
}
