using Alto.Agent.Jobs;

namespace Alto.Agent.Tests.Jobs;

/// <summary>What a crash leaves in the journal is read for what it says, and nothing written after it is lost to it.</summary>
[Trait("Layer", "Unit")]
public sealed class OperationJournalTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("alto-journal-").FullName;

    public void Dispose() => Directory.Delete(_state, recursive: true);

    [Fact]
    public void AnEntryAppendedAfterALineACrashCutShortIsKept()
    {
        using (var journal = new OperationJournal(_state))
        {
            journal.Append(new JournalEntry(JournalEntry.Tier, 1, "/srv/a.bin", JournalEntry.Begin));
        }
        // The crash: the next line was cut short in the middle.
        File.AppendAllText(Path.Combine(_state, "journal.jsonl"), "{\"op\":\"tier\",\"id\":2,\"pa");

        using (var journal = new OperationJournal(_state))
        {
            journal.Append(new JournalEntry(JournalEntry.Tier, 3, "/srv/c.bin", JournalEntry.Uploaded, Guid.NewGuid(), "t/aa/bb/c", "c"));

            var unfinished = journal.Unfinished();

            Assert.Equal([1L, 3L], unfinished.Select(entry => entry.TierObjectId).Order());
            Assert.Equal(JournalEntry.Uploaded, unfinished.Single(entry => entry.TierObjectId == 3).Phase);
        }
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("null")]
    [InlineData("{\"op\":\"tier\",\"id\":4}")]
    [InlineData("\0\0\0\0")]
    public void DamageThatHappensToParseIsNoEntry(string line)
    {
        File.WriteAllText(Path.Combine(_state, "journal.jsonl"), line + "\n");
        using var journal = new OperationJournal(_state);
        journal.Append(new JournalEntry(JournalEntry.Recall, 5, "/srv/e.bin", JournalEntry.Begin));

        var entry = Assert.Single(journal.Unfinished());

        Assert.Equal(5, entry.TierObjectId);
    }
}
