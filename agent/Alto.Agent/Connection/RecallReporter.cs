using System.Threading.Channels;
using Alto.Agent.Recall;
using Alto.Protocol.Agent.V1;

namespace Alto.Agent.Connection;

/// <summary>
/// Gathers recalls (on access and on command) into <see cref="RecallReport"/> messages of at most
/// <see cref="MaxEventsPerReport"/>, one every <see cref="Linger"/> at most, and hands them to
/// the <see cref="ReportOutbox"/>: a directory of thousands of stubs recalled at once is a handful
/// of messages, well inside the session's rate, and none is lost with a session.
/// </summary>
public sealed class RecallReporter(ReportOutbox outbox)
{
    public const int MaxEventsPerReport = 1000;
    public static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(250);

    private readonly Channel<RecallEvent> _events = Channel.CreateUnbounded<RecallEvent>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Queues one recall (never blocks: the listener calls it while a program waits).</summary>
    public void Report(RecallOutcome recall)
    {
        // A name that is not UTF-8 goes escaped, as the scan reported it and the inventory holds it.
        var (path, escaped) = Stubs.RawPaths.ToWire(recall.Path);
        _events.Writer.TryWrite(new RecallEvent
        {
            FilePath = path,
            PathEscaped = escaped,
            Ok = recall.Error is null,
            DurationMs = (long)recall.Duration.TotalMilliseconds,
            Error = recall.Error ?? "",
        });
    }

    /// <summary>Writes reports until stopped; what was queued when it stops is still written.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var batch = new List<RecallEvent>(MaxEventsPerReport);
        try
        {
            while (await _events.Reader.WaitToReadAsync(stoppingToken))
            {
                // A short wait lets a burst of recalls share one report.
                await Task.Delay(Linger, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                Drain(batch);
            }
        }
        catch (OperationCanceledException)
        {
        }
        Drain(batch);
    }

    private void Drain(List<RecallEvent> batch)
    {
        while (_events.Reader.TryRead(out var recall))
        {
            batch.Add(recall);
            if (batch.Count == MaxEventsPerReport)
            {
                Flush(batch);
            }
        }
        Flush(batch);
    }

    private void Flush(List<RecallEvent> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }
        var report = new RecallReport();
        report.Events.AddRange(batch);
        outbox.Add(new AgentMessage { Id = Guid.NewGuid().ToString("N"), RecallReport = report });
        batch.Clear();
    }
}
