using System.Diagnostics;
using System.IO.Hashing;
using Alto.Agent.Recall;
using Alto.Agent.Stubs;
using Alto.Tiering;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Jobs;

/// <summary>
/// Recall on command: each stub's data is written back from tier 2 and verified (journaled, so a
/// crash leaves a stub or the whole file), and every recall is reported like one on access.
/// With <paramref name="refusal"/> (the cluster asked), the file each path reaches is judged by it
/// again when it is opened (see <see cref="IStubDriver.RecallAsync"/>).
/// </summary>
public sealed partial class RecallRunner(
    OperationJournal journal, IStubDriver stubs, Func<Guid, ITierStore> stores, ILogger logger, RecallCluster? cluster = null, Func<string, string?>? refusal = null)
{
    private readonly List<string> _failedWithoutStub = [];

    /// <summary>Why each recall failed that has no outcome to report (no stub could be read at its path): the caller says so instead.</summary>
    public IReadOnlyList<string> FailedWithoutStub => _failedWithoutStub;

    public async Task<IReadOnlyList<RecallOutcome>> RecallAsync(IEnumerable<string> paths, CancellationToken cancellationToken)
    {
        var outcomes = new List<RecallOutcome>();
        foreach (var path in paths)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var started = Stopwatch.GetTimestamp();
            var id = JournalId(path);
            journal.Append(new JournalEntry(JournalEntry.Recall, id, path, JournalEntry.Begin));
            try
            {
                if (await stubs.RecallAsync(path, stores, cancellationToken, cluster, refusal) is { } stub)
                {
                    outcomes.Add(new RecallOutcome(path, stub, Stopwatch.GetElapsedTime(started), null));
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                LogRecallFailed(logger, exception, RawPaths.Display(path));
                if (SafePeek(path) is { } stub)
                {
                    outcomes.Add(new RecallOutcome(path, stub, Stopwatch.GetElapsedTime(started), exception.Message));
                }
                else
                {
                    _failedWithoutStub.Add(exception.Message);
                }
            }
            journal.Append(new JournalEntry(JournalEntry.Recall, id, path, JournalEntry.Done), durable: false);
        }
        journal.Compact();
        return outcomes;
    }

    /// <summary>A stable id for a path's journal lines (a recall has no tier object id on the agent).</summary>
    private static long JournalId(string path) => (long)XxHash64.HashToUInt64(RawPaths.ToBytes(path));

    private StubInfo? SafePeek(string path)
    {
        try
        {
            return stubs.Peek(path);
        }
        catch (IOException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not recall {Path}; it stays a stub")]
    private static partial void LogRecallFailed(ILogger logger, Exception exception, string path);
}
