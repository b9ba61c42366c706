using Alto.Agent.Jobs;
using Alto.Tiering;
using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Stubs;

/// <summary>
/// What tiering, recall and crash recovery need from the platform's stubs (DESIGN.md §4): on
/// Linux punched holes with <c>trusted.alto.*</c> attributes (<see cref="LinuxStubDriver"/>), on
/// Windows the EaseFilter CloudTier driver (<see cref="Windows.CloudTierStubDriver"/>). The job
/// executor, the recall runner and the journal recovery see only this interface.
/// </summary>
public interface IStubDriver
{
    /// <summary>The stub facts of a file the agent has open, or null when it is not a stub.</summary>
    StubInfo? Read(SafeFileHandle file, string path);

    /// <summary>The stub facts of a path, looked at without opening its data: looking never recalls.</summary>
    StubInfo? Peek(string path);

    /// <summary>Size, times and identity of an open file, taken before the agent reads it.</summary>
    FileTimes Snapshot(SafeFileHandle file);

    /// <summary>
    /// Why an open file cannot become a stub whoever asks (immutable, append-only), so it is not
    /// uploaded at all; null when nothing forbids it.
    /// </summary>
    string? CannotStub(SafeFileHandle file) => null;

    /// <summary>
    /// Whether another program has the file open for writing (or mapped for writing) now, so it
    /// would not be made a stub after its upload (<see cref="FileInUseException"/>): it is then
    /// not uploaded at all. <paramref name="file"/> is the agent's read-only open of it.
    /// </summary>
    bool OthersMayWrite(SafeFileHandle file) => false;

    /// <summary>
    /// Makes a file whose data tier 2 holds (verified) a stub keeping <paramref name="readAt"/>'s
    /// times; throws <see cref="FileChangedException"/> and leaves the file as it is when it
    /// changed since <paramref name="readAt"/> was taken.
    /// </summary>
    void MakeStub(string path, StubInfo stub, FileTimes readAt);

    /// <summary>
    /// Makes several files stubs, each as <see cref="MakeStub"/> would; a driver may flush their
    /// markers together. One result per request, in order: null when the file is a stub now, else
    /// the exception that left it as it was.
    /// </summary>
    IReadOnlyList<Exception?> MakeStubs(IReadOnlyList<StubRequest> requests)
    {
        var results = new Exception?[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            try
            {
                MakeStub(requests[i].Path, requests[i].Stub, requests[i].ReadAt);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                results[i] = exception;
            }
        }
        return results;
    }

    /// <summary>
    /// Brings a stub's data back, verified (on command); null when the file was not a stub. <paramref name="cluster"/> confirms the stub and opens encrypted objects.
    /// When the cluster asked, <paramref name="refusal"/> judges the file the path actually reaches (links resolved by the system), and a refused one is not touched.
    /// </summary>
    /// <exception cref="StubRefusedException">The stub is not to be recalled: <paramref name="refusal"/> refused where the path led, or its markers are not trusted.</exception>
    Task<StubInfo?> RecallAsync(
        string path, Func<Guid, ITierStore> stores, CancellationToken cancellationToken, RecallCluster? cluster = null, Func<string, string?>? refusal = null);

    /// <summary>
    /// Finishes or rolls back an operation a crash cut short, so the file is its original bytes
    /// or a valid stub; returns whether it is a stub now.
    /// </summary>
    bool Settle(SafeFileHandle file, JournalEntry entry);
}

/// <summary>A file to make a stub of (<see cref="IStubDriver.MakeStubs"/>): its path, the stub, and its status before the agent read it.</summary>
public sealed record StubRequest(string Path, StubInfo Stub, FileTimes ReadAt);
