using System.Runtime.Versioning;
using System.Security.Cryptography;
using Alto.Agent.Stubs;
using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Jobs;

/// <summary>
/// After a crash, finishes or rolls back every operation the journal shows unfinished, so each
/// file is either its original bytes or a valid stub whose tier-2 object was verified:
/// a tiering that had not recorded its verified upload is rolled back (no stub attributes stay);
/// one that had is finished if the stub's locator is on the file (the data is released) and
/// rolled back otherwise; a recall cut short leaves a stub again.
/// </summary>
[SupportedOSPlatform("linux")]
public static class JournalRecovery
{
    public sealed record Recovered(long TierObjectId, string Path, string Operation, bool IsStub);

    public static IReadOnlyList<Recovered> Recover(OperationJournal journal)
    {
        var recovered = new List<Recovered>();
        foreach (var entry in journal.Unfinished())
        {
            bool isStub;
            try
            {
                using var file = File.OpenHandle(entry.Path, FileMode.Open, FileAccess.ReadWrite);
                isStub = Settle(file, entry);
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

    private static bool Settle(SafeFileHandle file, JournalEntry entry)
    {
        var fd = LinuxFiles.Fd(file);
        if (LinuxStubs.Read(fd) is not { } stub)
        {
            // No locator: the data is the original; stray attributes of a stubbing cut short go.
            RemoveStubAttributes(fd);
            return false;
        }
        var verifiedUpload = entry.Operation == JournalEntry.Tier && entry.Phase == JournalEntry.Uploaded;
        if (!verifiedUpload && entry.Operation != JournalEntry.Recall)
        {
            // A stub from an earlier, finished operation: left exactly as it is.
            return true;
        }
        if (!LinuxFiles.HasData(file))
        {
            return true;
        }
        // Data and a locator: the bytes decide.
        var ownBytes = ContentSha256(file) == stub.Sha256;
        if (entry.Operation == JournalEntry.Recall ? ownBytes : !ownBytes)
        {
            // A recall that had written everything finishes; a stubbing whose file was written
            // to since (while the agent was down) keeps the new bytes and stops being a stub.
            RemoveStubAttributes(fd);
            return false;
        }
        // A stubbing that had not released the data yet finishes; a recall cut short is a stub again.
        LinuxFiles.PunchHole(fd, LinuxFiles.Stat(fd).Size);
        LinuxFiles.Sync(fd);
        return true;
    }

    private static void RemoveStubAttributes(int fd)
    {
        LinuxFiles.RemoveAttribute(fd, StubInfo.LocatorAttribute);
        foreach (var attribute in StubInfo.AttributesInWriteOrder)
        {
            LinuxFiles.RemoveAttribute(fd, attribute);
        }
    }

    private static string ContentSha256(SafeFileHandle file)
    {
        // The stream gets a borrowed handle: disposing it must not close the caller's file.
        using var borrowed = LinuxFiles.Borrow(file);
        using var stream = new FileStream(borrowed, FileAccess.ReadWrite, 1 << 20) { Position = 0 };
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
