using System.Runtime.Versioning;
using System.Security.Cryptography;
using Alto.Agent.Jobs;
using Alto.Tiering;
using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Stubs;

/// <summary>
/// Linux stubs (<see cref="LinuxStubs"/>) behind the platform-neutral <see cref="IStubDriver"/>.
/// With the hooks of the process's armed recall, every stub it makes is watched from the moment it
/// is one; <see cref="Instance"/> has none (recovery, and tests of the stubs themselves).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class LinuxStubDriver(Recall.IStubRecallHooks? recall = null) : IStubDriver
{
    public static LinuxStubDriver Instance { get; } = new();

    public StubInfo? Read(SafeFileHandle file, string path) => LinuxStubs.Read(file);

    public StubInfo? Peek(string path) => LinuxStubs.Peek(path);

    public FileTimes Snapshot(SafeFileHandle file) => LinuxFiles.Stat(file);

    public string? CannotStub(SafeFileHandle file) => LinuxFiles.UnchangeableBecause(LinuxFiles.Fd(file));

    public bool OthersMayWrite(SafeFileHandle file) => WriterProbe.OthersMayWrite(LinuxFiles.Fd(file)) == true;

    public void MakeStub(string path, StubInfo stub, FileTimes readAt) => LinuxStubs.MakeStub(path, stub, readAt, recall);

    public IReadOnlyList<Exception?> MakeStubs(IReadOnlyList<StubRequest> requests) => LinuxStubs.MakeStubs(requests, recall);

    public Task<StubInfo?> RecallAsync(
        string path, Func<Guid, ITierStore> stores, CancellationToken cancellationToken, RecallCluster? cluster = null, Func<string, string?>? refusal = null) =>
        LinuxStubs.RecallAsync(path, stores, cancellationToken, cluster, refusal, recall);

    /// <summary>
    /// A tiering that had not recorded its verified upload is rolled back (no stub attributes
    /// stay); one that had is finished if the stub's locator is on the file and rolled back
    /// otherwise; a recall cut short leaves a stub again, or finishes when every byte was back.
    /// </summary>
    public bool Settle(SafeFileHandle file, JournalEntry entry)
    {
        var fd = LinuxFiles.Fd(file);
        // No recall of the file runs while it is judged and settled (an open's, adopted from the
        // recall guard while the agent restarted): it would write the data back and take the markers
        // off as this releases what it judged a stub's leftovers, and the file would read as zeros.
        using var held = recall?.HoldOpens(LinuxFiles.Stat(fd).Identity);
        if (LinuxStubs.Read(fd) is not { } stub)
        {
            // No locator: the data is the original; stray attributes of a stubbing cut short go.
            LinuxStubs.RemoveAttributes(fd);
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
            LinuxStubs.RemoveAttributes(fd);
            return false;
        }
        // A stubbing that had not released the data yet finishes; a recall cut short is a stub again.
        // Either way the file is watched before its data goes, whatever marks it carried.
        recall?.Watch(fd);
        if (entry.Operation == JournalEntry.Tier && WriterProbe.OthersMayWrite(fd) == true)
        {
            // Another program has the file open (this descriptor is writable, so readers count too):
            // it may write through a mapping without changing any time. Rolled back, it loses nothing.
            LinuxStubs.RemoveAttributes(fd);
            return false;
        }
        LinuxFiles.PunchHole(fd, LinuxFiles.Stat(fd).Size);
        LinuxFiles.Sync(fd);
        return true;
    }

    private static string ContentSha256(SafeFileHandle file)
    {
        // The stream gets a borrowed handle: disposing it must not close the caller's file.
        using var borrowed = FileHandles.Borrow(file);
        using var stream = new FileStream(borrowed, FileAccess.ReadWrite, 1 << 20) { Position = 0 };
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
