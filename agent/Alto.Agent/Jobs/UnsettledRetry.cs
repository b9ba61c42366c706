using System.Threading.Channels;
using Alto.Agent.Stubs;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Jobs;

/// <summary>
/// Settles the journal's operations: every unfinished one when the agent starts, then, every
/// <c>period</c>, the ones that could not be settled (<see cref="OperationJournal.Waiting"/>), so a
/// file made writable again — a volume remounted read-write after its errors were repaired,
/// <c>chattr -i</c> — is settled while the agent runs instead of at its next start. A retry and
/// the agent's commands take one gate, so a retry never finishes an operation that a job or a
/// recall still has in flight.
/// </summary>
public sealed partial class UnsettledRetry(OperationJournal journal, IStubDriver stubs, TimeSpan period, ILogger logger) : IDisposable
{
    /// <summary>How often a file left unsettled is tried again unless the agent is told otherwise.</summary>
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromSeconds(60);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Channel<bool> _asked = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Settles every unfinished operation, as after a crash; called once, before any command runs.</summary>
    public void SettleAtStart() => Report(JournalRecovery.Recover(journal, stubs), before: new Dictionary<(string, long), string>());

    /// <summary>Runs one of the agent's commands with no retry settling files at the same time.</summary>
    public async Task RunExclusiveAsync(Func<Task> command, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await command();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Asks for a try now rather than at the end of the period: the mount table changed, and a
    /// volume remounted read-write is the usual cure. Never blocks; tries asked for at once are one.
    /// </summary>
    public void TryNow() => _asked.Writer.TryWrite(true);

    /// <summary>Tries the waiting operations again every period, and when asked, until the agent stops.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    await Task.WhenAny(Task.Delay(period, wait.Token), _asked.Reader.WaitToReadAsync(wait.Token).AsTask());
                    await wait.CancelAsync();
                }
                _asked.Reader.TryRead(out _);
                if (journal.Waiting.Count > 0 && !cancellationToken.IsCancellationRequested)
                {
                    await RunExclusiveAsync(() =>
                    {
                        TryAgain();
                        return Task.CompletedTask;
                    }, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One retry of the waiting operations; any failure of it is logged and tried again at the next period.</summary>
    private void TryAgain()
    {
        var before = journal.Waiting.ToDictionary(operation => (operation.Operation, operation.TierObjectId), operation => operation.Why);
        try
        {
            Report(JournalRecovery.RetryWaiting(journal, stubs), before);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Whatever failed (the state folder's disk, say), the loop goes on: it must not end with nothing said.
            LogRetryFailed(logger, FailureReasons.OneLine(exception), period.TotalSeconds);
        }
    }

    /// <summary>Logs each operation settled, and each one still waiting for a reason not logged before (a retry a minute must not repeat the same error).</summary>
    private void Report(IReadOnlyList<JournalRecovery.Recovered> recovered, IReadOnlyDictionary<(string, long), string> before)
    {
        foreach (var item in recovered)
        {
            if (item.Unsettled is not { } why)
            {
                LogSettled(logger, item.Operation, item.Path, item.IsStub ? "a valid stub" : "the original file");
            }
            else if (!before.TryGetValue((item.Operation, item.TierObjectId), out var earlier) || earlier != why)
            {
                LogUnsettled(logger, item.Operation, item.Path, why, period.TotalSeconds);
            }
        }
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Settled an interrupted {Operation} of {Path}: {Result}")]
    private static partial void LogSettled(ILogger logger, string operation, string path, string result);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "An interrupted {Operation} of {Path} cannot be settled now: {Why}; it stays in the journal and is tried again every {Seconds} s")]
    private static partial void LogUnsettled(ILogger logger, string operation, string path, string why, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Trying again the files left unsettled failed: {Reason}; tried again in {Seconds} s")]
    private static partial void LogRetryFailed(ILogger logger, string reason, double seconds);
}
