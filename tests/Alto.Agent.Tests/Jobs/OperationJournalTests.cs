using Alto.Agent.Jobs;
using Alto.Agent.Stubs;

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

    [Fact]
    public void APathWhoseNameIsNotUtf8ComesBackAsItsOwnBytes()
    {
        // café.pdf with é in Latin-1, and a plain name beside it.
        var latin1 = RawPaths.FromBytes([.. "/srv/caf"u8, 0xE9, .. ".pdf"u8]);
        using (var journal = new OperationJournal(_state))
        {
            journal.Append(new JournalEntry(JournalEntry.Tier, 6, latin1, JournalEntry.Uploaded, Guid.NewGuid(), "t/aa/bb/f", "f"));
            journal.Append(new JournalEntry(JournalEntry.Tier, 7, "/srv/caf\u00E9.pdf", JournalEntry.Begin));
        }
        // JSON text has no way to hold the byte itself: the line says the path is escaped.
        Assert.Contains("{\"escaped\":\"/srv/caf\\\\xE9.pdf\"}", File.ReadAllText(Path.Combine(_state, "journal.jsonl")), StringComparison.Ordinal);

        using (var journal = new OperationJournal(_state))
        {
            var unfinished = journal.Unfinished().ToDictionary(entry => entry.TierObjectId, entry => entry.Path);

            Assert.Equal([.. "/srv/caf"u8, 0xE9, .. ".pdf"u8], RawPaths.ToBytes(unfinished[6]));
            Assert.Equal("/srv/caf\u00E9.pdf", unfinished[7]);
        }
    }

    [Theory]
    [InlineData("{\"op\":\"tier\",\"id\":8,\"path\":{\"escaped\":\"/srv/\\\\q\"},\"phase\":\"begin\"}")]
    [InlineData("{\"op\":\"tier\",\"id\":8,\"path\":{\"other\":\"/srv/x\"},\"phase\":\"begin\"}")]
    [InlineData("{\"op\":\"tier\",\"id\":8,\"path\":{\"escaped\":\"/srv/x\",\"more\":1},\"phase\":\"begin\"}")]
    public void ADamagedEscapedPathIsNoEntry(string line)
    {
        File.WriteAllText(Path.Combine(_state, "journal.jsonl"), line + "\n");
        using var journal = new OperationJournal(_state);

        Assert.Empty(journal.Unfinished());
    }
}
