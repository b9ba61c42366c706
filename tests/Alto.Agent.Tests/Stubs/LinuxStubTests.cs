using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Alto.Tiering;

namespace Alto.Agent.Tests.Stubs;

[SupportedOSPlatform("linux")]
public sealed class LinuxStubTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("alto-stubs-").FullName;
    private readonly PathTierStore _store = new(Directory.CreateTempSubdirectory("alto-stubs-tier2-").FullName);
    private readonly Guid _targetId = Guid.NewGuid();

    public void Dispose()
    {
        Directory.Delete(_folder, true);
        Directory.Delete(_store.Root, true);
    }

    private ITierStore Stores(Guid targetId) => targetId == _targetId ? _store : throw new KeyNotFoundException($"no target {targetId}");

    [Fact]
    public async Task AStubKeepsItsInodeSizeModeOwnerAndTimesAndReleasesItsData()
    {
        var path = Path.Combine(_folder, "report.pdf");
        var content = StubFiles.Write(path, 3 << 20);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var before = StubFiles.Stat(path);

        var stub = await StubFiles.TierAsync(path, _store, _targetId);

        var after = StubFiles.Stat(path);
        Assert.Equal((before.Inode, before.Size), (after.Inode, after.Size));
        Assert.Equal((before.ModifySeconds, before.ModifyNanoseconds, before.AccessSeconds, before.AccessNanoseconds),
            (after.ModifySeconds, after.ModifyNanoseconds, after.AccessSeconds, after.AccessNanoseconds));
        StubFiles.AssertReleased(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(path));
        Assert.Equal(stub, LinuxStubs.Read(path));
        Assert.Equal(StubFiles.Sha256(content), stub.Sha256);
        Assert.Equal(content.Length, new FileInfo(path).Length);
    }

    [Fact]
    public async Task ARecallOnCommandBringsBackTheExactBytesAndTimesAndRemovesTheStubAttributes()
    {
        var path = Path.Combine(_folder, "clip.mp4");
        var content = StubFiles.Write(path, 5_000_123);
        var before = StubFiles.Stat(path);
        await StubFiles.TierAsync(path, _store, _targetId);

        var recalled = await LinuxStubs.RecallAsync(path, Stores, CancellationToken.None);

        Assert.NotNull(recalled);
        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        Assert.Null(LinuxStubs.Read(path));
        var after = StubFiles.Stat(path);
        Assert.Equal((before.ModifySeconds, before.ModifyNanoseconds), (after.ModifySeconds, after.ModifyNanoseconds));
        Assert.True(after.Blocks > 0);
        Assert.Null(await LinuxStubs.RecallAsync(path, Stores, CancellationToken.None));
    }

    [Fact]
    public async Task AFileThatChangedAfterItWasReadIsNotStubbed()
    {
        var path = Path.Combine(_folder, "busy.db");
        var content = StubFiles.Write(path, 100_000);
        var times = StubFiles.Stat(path);
        StoredObject stored;
        await using (var stream = File.OpenRead(path))
        {
            stored = await _store.PutAsync(StubFiles.TenantId, stream, CancellationToken.None);
        }
        await File.AppendAllTextAsync(path, "one more line");

        Assert.Throws<FileChangedException>(() => LinuxStubs.MakeStub(path, new StubInfo(_targetId, stored.Key, stored.Sha256, stored.Length), times));

        Assert.Null(LinuxStubs.Read(path));
        byte[] expected = [.. content, .. "one more line"u8.ToArray()];
        Assert.Equal(expected, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task ARecallFromADamagedOrMissingObjectLeavesAValidStub()
    {
        var damaged = Path.Combine(_folder, "damaged.bin");
        StubFiles.Write(damaged, 200_000);
        var stub = await StubFiles.TierAsync(damaged, _store, _targetId);
        var objectPath = Path.Combine(_store.Root, stub.Locator);
        var bytes = await File.ReadAllBytesAsync(objectPath);
        bytes[1000] ^= 0xff;
        await File.WriteAllBytesAsync(objectPath, bytes);

        await Assert.ThrowsAsync<StubRecallException>(() => LinuxStubs.RecallAsync(damaged, Stores, CancellationToken.None));
        Assert.Equal(stub, LinuxStubs.Read(damaged));
        StubFiles.AssertReleased(damaged);

        File.Delete(objectPath);
        await Assert.ThrowsAsync<StubRecallException>(() => LinuxStubs.RecallAsync(damaged, Stores, CancellationToken.None));
        Assert.Equal(stub, LinuxStubs.Read(damaged));
    }
}
