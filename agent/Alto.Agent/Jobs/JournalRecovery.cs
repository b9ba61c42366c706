using Alto.Agent.Stubs;

namespace Alto.Agent.Jobs;

/// <summary>
/// After a crash, finishes or rolls back every operation the journal shows unfinished, so each
/// file is either its original bytes or a valid stub whose tier-2 object was verified. How each
/// one is settled is the platform's (<see cref="IStubDriver.Settle"/>).
/// </summary>
public static class JournalRecovery
{
    public sealed record Recovered(long TierObjectId, string Path, string Operation, bool IsStub);

    public static IReadOnlyList<Recovered> Recover(OperationJournal journal, IStubDriver stubs)
    {
        var recovered = new List<Recovered>();
        foreach (var entry in journal.Unfinished())
        {
            bool isStub;
            try
            {
                using var file = File.OpenHandle(entry.Path, FileMode.Open, FileAccess.ReadWrite);
                isStub = stubs.Settle(file, entry);
            }
            catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
            {
                isStub = false;
            }
            journal.Append(entry with { Phase = JournalEntry.Done });
            recovered.Add(new Recovered(entry.TierObjectId, entry.Path, entry.Operation, isStub));
        }
        journal.Compact();
        return recovered;
    }
}
