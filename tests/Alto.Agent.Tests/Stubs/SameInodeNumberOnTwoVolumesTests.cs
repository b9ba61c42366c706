using System.Runtime.Versioning;
using Alto.Agent.Recall;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Jobs;
using Alto.TestSupport;
using Alto.Tiering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Tests.Stubs;

/// <summary>
/// Two volumes under one recall group, as an agent arms all of a host's: each file system numbers
/// its own inodes from the start, so two files of two volumes often have the same inode number
/// (here, files made in the same order on fresh volumes). Recall and stubbing must tell them apart
/// by file system too: an open of one file must never wait for, or be answered by, the recall of
/// another, and a file is never taken for another volume's file of its number.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Layer", "Unit")]
public sealed class SameInodeNumberOnTwoVolumesTests : IDisposable
{
    private readonly ScratchFileSystem _first;
    private readonly ScratchFileSystem _second;
    private readonly PathTierStore _store = new(Directory.CreateTempSubdirectory("alto-volumes-tier2-").FullName);
    private readonly FaultyStore _heldStore;
    private readonly Guid _targetId = Guid.NewGuid();
    private readonly Guid _heldTargetId = Guid.NewGuid();
    private readonly RecallGroup _group;
    private readonly RecallListener _listener;

    public SameInodeNumberOnTwoVolumesTests()
    {
        _first = ScratchFileSystem.TryCreate(out var whyNot) ?? throw new InvalidOperationException(whyNot);
        _second = ScratchFileSystem.TryCreate(out whyNot) ?? throw new InvalidOperationException(whyNot);
        _heldStore = new FaultyStore(_store);
        (_group, _listener) = RecallListener.TryStartAlone([_first.Root, _second.Root], Stores, NullLogger.Instance, out var noRecall)
                              ?? throw new InvalidOperationException(noRecall);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _group.Dispose();
        _first.Dispose();
        _second.Dispose();
        Directory.Delete(_store.Root, true);
    }

    private ITierStore Stores(Guid targetId) => targetId == _heldTargetId ? _heldStore : _store;

    [Fact]
    public async Task AStubWithTheInodeNumberOfAnotherVolumesStubIsRecalledWhileThatOnesRecallWaits()
    {
        var slow = Path.Combine(_first.Root, "archive.tar");
        var wanted = Path.Combine(_second.Root, "report.pdf");
        StubFiles.Write(slow, 150_000);
        var content = StubFiles.Write(wanted, 250_000);
        Assert.True(StubFiles.Stat(slow).Inode == StubFiles.Stat(wanted).Inode, "each fresh ext4 gives its first file the same inode number");
        Assert.NotEqual(StubFiles.Stat(slow).Device, StubFiles.Stat(wanted).Device);
        await StubFiles.TierAsync(slow, _store, _heldTargetId, _listener.Hooks);
        await StubFiles.TierAsync(wanted, _store, _targetId, _listener.Hooks);
        // The first volume's recall stays in flight (its tier 2 holds the read) until the end of the test.
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var letGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _heldStore.BeforeRead = async cancellationToken =>
        {
            inFlight.TrySetResult();
            await letGo.Task.WaitAsync(cancellationToken);
        };
        var slowRead = StubFiles.ShellAsync($"cat '{slow}' > /dev/null");
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var read = await StubFiles.ShellAsync($"timeout 10 sha256sum '{wanted}'");

        letGo.SetResult();
        Assert.Equal(0, read.ExitCode);
        Assert.StartsWith(StubFiles.Sha256(content), read.Output, StringComparison.Ordinal);
        Assert.Null(LinuxStubs.Read(wanted));
        Assert.Equal(0, (await slowRead).ExitCode);
        Assert.Null(LinuxStubs.Read(slow));
    }

    /// <summary>
    /// After the agent read a planned file, a local user who may write its folder (not the file)
    /// swaps the folder for a link to a folder of their own on another volume, holding a file of
    /// the same inode number, size and times. Made a stub by path, that file would get markers bound
    /// to it for the planned file's object, and its owner's open would recall someone else's data
    /// into it.
    /// </summary>
    [Fact]
    public async Task AFileOfAnotherVolumeWithTheSameInodeNumberPutInThePlannedFilesPlaceIsNotMadeAStub()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_first.Root, "finance")).FullName;
        var decoyFolder = Directory.CreateDirectory(Path.Combine(_second.Root, "mine")).FullName;
        var planned = Path.Combine(folder, "salaries.xlsx");
        var decoy = Path.Combine(decoyFolder, "salaries.xlsx");
        var content = StubFiles.Write(planned, 90_000);
        StubFiles.Write(decoy, 90_000);
        var readAt = StubFiles.Stat(planned);
        var other = StubFiles.Stat(decoy);
        Assert.True(readAt.Inode == other.Inode, "fresh volumes number files made in the same order alike");
        Assert.Equal((readAt.Size, readAt.ModifySeconds, readAt.ModifyNanoseconds), (other.Size, other.ModifySeconds, other.ModifyNanoseconds));
        StoredObject stored;
        await using (var file = File.OpenRead(planned))
        {
            stored = await _store.PutAsync(StubFiles.TenantId, file, CancellationToken.None);
        }
        Directory.Move(folder, folder + "-moved");
        File.CreateSymbolicLink(folder, decoyFolder);

        var results = LinuxStubs.MakeStubs([new StubRequest(planned, new StubInfo(_targetId, stored.Key, stored.Sha256, stored.Length), readAt)], _listener.Hooks);

        Assert.IsType<FileChangedException>(results[0]);
        Assert.Null(LinuxStubs.Peek(decoy));
        Assert.Equal(90_000, (await File.ReadAllBytesAsync(decoy)).Length);
        Assert.Null(LinuxStubs.Peek(Path.Combine(folder + "-moved", "salaries.xlsx")));
        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(folder + "-moved", "salaries.xlsx")));
    }
}
