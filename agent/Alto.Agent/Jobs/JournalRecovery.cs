using Alto.Agent.Stubs;
using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Jobs;

/// <summary>
/// After a crash, finishes or rolls back every operation the journal shows unfinished, so each
/// file is either its original bytes or a valid stub whose tier-2 object was verified. How each
/// one is settled is the platform's (<see cref="IStubDriver.Settle"/>).
/// </summary>
public static class JournalRecovery
{
    /// <summary>One operation looked at; <see cref="Unsettled"/> says why it stays in the journal to be tried again, null when it was settled.</summary>
    public sealed record Recovered(long TierObjectId, string Path, string Operation, bool IsStub, string? Unsettled = null);

    /// <summary>What settling one operation left: whether the file is a stub (and its markers), or why it could not be settled now.</summary>
    public readonly record struct Settled(bool IsStub, StubInfo? Stub, string? Unsettled);

    /// <summary>
    /// Settles every unfinished operation it can. One that cannot be settled now stays in the
    /// journal and is reported, and the others are settled all the same: a file the agent may not
    /// write (a volume remounted read-only after errors, an immutable file) must not keep the
    /// agent, and with it recall on every other volume, from starting.
    /// </summary>
    public static IReadOnlyList<Recovered> Recover(OperationJournal journal, IStubDriver stubs)
    {
        var recovered = SettleEach(journal, stubs, journal.Unfinished());
        journal.Compact();
        return recovered;
    }

    /// <summary>
    /// Tries again the operations that could not be settled before (<see cref="OperationJournal.Waiting"/>),
    /// so that a file made writable again (a volume remounted read-write, <c>chattr -i</c>) is
    /// settled while the agent runs, not only at its next start. Every other unfinished operation
    /// is left alone: it may belong to a job or recall still in flight, so the caller runs this
    /// only where none runs. The journal is not rewritten here: the lines of what was settled go at
    /// its next compaction (after a job or a recall, or at the next start).
    /// </summary>
    public static IReadOnlyList<Recovered> RetryWaiting(OperationJournal journal, IStubDriver stubs)
    {
        var waiting = journal.Waiting.Select(operation => (operation.Operation, operation.TierObjectId)).ToHashSet();
        return waiting.Count == 0
            ? []
            : SettleEach(journal, stubs, [.. journal.Unfinished().Where(entry => waiting.Contains((entry.Operation, entry.TierObjectId)))]);
    }

    private static List<Recovered> SettleEach(OperationJournal journal, IStubDriver stubs, IReadOnlyList<JournalEntry> entries)
    {
        var recovered = new List<Recovered>();
        foreach (var entry in entries)
        {
            var settled = Settle(entry, stubs);
            if (settled.Unsettled is { } why)
            {
                journal.MarkWaiting(entry, why);
            }
            else
            {
                journal.Append(entry with { Phase = JournalEntry.Done });
            }
            recovered.Add(new Recovered(entry.TierObjectId, entry.Path, entry.Operation, settled.IsStub, settled.Unsettled));
        }
        return recovered;
    }

    /// <summary>
    /// Settles one operation through the file opened for writing. Where it cannot be opened so,
    /// a file without a stub's locator is settled as it is: the locator is written last when
    /// stubbing and removed first when recalling, so without one the file's data was never
    /// released and there is nothing to undo. A file with one waits until it can be written, and
    /// so does one whose settling failed (its data unreadable, say).
    /// </summary>
    public static Settled Settle(JournalEntry entry, IStubDriver stubs)
    {
        SafeFileHandle file;
        try
        {
            // On Linux by the name's own bytes: a name that is not UTF-8 is no less a file to settle.
            file = OperatingSystem.IsLinux() ? LinuxFiles.OpenByPath(entry.Path, FileAccess.ReadWrite) : File.OpenHandle(entry.Path, FileMode.Open, FileAccess.ReadWrite);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return new Settled(false, null, null);
        }
        catch (Exception exception) when (exception is UnauthorizedAccessException or IOException)
        {
            return SettleUnwritable(entry, stubs, $"it cannot be opened for writing ({FailureReasons.OneLine(exception)})");
        }
        using (file)
        {
            try
            {
                return stubs.Settle(file, entry) ? new Settled(true, stubs.Read(file, entry.Path), null) : new Settled(false, null, null);
            }
            catch (Exception exception) when (exception is UnauthorizedAccessException or IOException or InvalidDataException)
            {
                return new Settled(false, null, $"settling it failed: {FailureReasons.OneLine(exception)}");
            }
        }
    }

    private static Settled SettleUnwritable(JournalEntry entry, IStubDriver stubs, string notWritable)
    {
        try
        {
            return stubs.Peek(entry.Path) is not null
                ? new Settled(true, null, $"{notWritable}, and it carries a stub's markers: it is settled once it can be written")
                : new Settled(false, null, null);
        }
        catch (Exception exception) when (exception is UnauthorizedAccessException or IOException or InvalidDataException)
        {
            return new Settled(false, null, $"{notWritable}, nor its markers read ({FailureReasons.OneLine(exception)})");
        }
    }
}
