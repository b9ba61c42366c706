using System.Text;
using Alto.Agent.Stubs;
using Alto.Agent.Stubs.Windows;
using Alto.Tiering;

namespace Alto.Agent.Tests.Stubs;

/// <summary>The Windows stub driver's logic against a stand-in of the CloudTier driver (see <see cref="CloudTierStandIn"/>).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CloudTierStubDriverTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("alto-cloudtier-").FullName;
    private readonly PathTierStore _store = new(Directory.CreateTempSubdirectory("alto-cloudtier-tier2-").FullName);
    private readonly CloudTierStandIn _driver = new();
    private readonly Guid _targetId = Guid.NewGuid();
    private readonly CloudTierStubDriver _stubs;

    public CloudTierStubDriverTests()
    {
        _stubs = new CloudTierStubDriver(_driver, id => id == _targetId ? _store : throw new TierStoreUnavailableException("unreachable"),
            Path.Combine(_folder, "cache"));
        _stubs.Connect();
    }

    public void Dispose()
    {
        _stubs.Disconnect();
        Directory.Delete(_folder, true);
        Directory.Delete(_store.Root, true);
    }

    private async Task<(string Path, byte[] Original, StubInfo Stub)> StubAsync(string name, int size, Guid? targetId = null, bool compress = false)
    {
        var path = Path.Combine(_folder, name);
        var original = StubFiles.Write(path, size);
        byte[] content = original;
        if (compress)
        {
            using var compressor = new ZstdSharp.Compressor();
            content = compressor.Wrap(original).ToArray();
        }
        var stored = await _store.PutAsync(StubFiles.TenantId, new MemoryStream(content), CancellationToken.None);
        var stub = new StubInfo(targetId ?? _targetId, stored.Key, StubFiles.Sha256(original), original.Length) { Codec = compress ? "zstd" : null };
        var written = File.GetLastWriteTimeUtc(path);
        _stubs.MakeStub(path, stub, written, written, written);
        return (path, original, stub);
    }

    [Fact]
    public async Task AStubKeepsSizeAndTimesAndAProgramReadsTheOriginalThroughARestoredCacheFile()
    {
        var (path, original, stub) = await StubAsync("report.pdf", 300_000);
        Assert.True(_driver.IsStub(path));
        Assert.Equal(original.Length, new FileInfo(path).Length);
        Assert.Equal(stub, CloudTierStubDriver.DecodeTag(_driver.Tag(path)));

        Assert.Equal(original, await _driver.ReadAsProgramAsync(path));
        Assert.False(_driver.IsStub(path));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_folder, "cache")));
    }

    [Fact]
    public async Task ABlockIsServedFromARangeReadAndTheFileStaysAStub()
    {
        var (path, original, _) = await StubAsync("clip.mp4", 200_000);

        var reply = await _driver.ReadBlockAsProgramAsync(path, 65_536, 4096);

        Assert.Equal((CloudTierProtocol.StatusSuccess, CloudTierProtocol.BlockDataWasReturned), (reply.ReturnStatus, reply.FilterStatus));
        Assert.Equal(original.AsSpan(65_536, 4096).ToArray(), reply.Data);
        Assert.True(_driver.IsStub(path));
    }

    [Fact]
    public async Task ACompressedObjectIsRestoredWholeAndVerified()
    {
        var (path, original, _) = await StubAsync("log.txt", 100_000, compress: true);

        var reply = await _driver.ReadBlockAsProgramAsync(path, 0, 4096);
        Assert.Equal(CloudTierProtocol.CacheFileWasReturned | CloudTierProtocol.RehydrateFileViaCacheFile, reply.FilterStatus);
        File.Delete(Encoding.Unicode.GetString(reply.Data).TrimEnd('\0'));

        Assert.Equal(original, await _driver.ReadAsProgramAsync(path));
    }

    [Fact]
    public async Task WhenTierTwoFailsTheProgramsReadFailsAndTheStubStays()
    {
        var (unreachable, _, _) = await StubAsync("far.bin", 10_000, targetId: Guid.NewGuid());
        await Assert.ThrowsAsync<IOException>(() => _driver.ReadAsProgramAsync(unreachable));
        Assert.True(_driver.IsStub(unreachable));

        var (damaged, _, stub) = await StubAsync("damaged.bin", 10_000);
        var objectPath = Path.Combine(_store.Root, stub.Locator);
        var bytes = await File.ReadAllBytesAsync(objectPath);
        bytes[5] ^= 0xff;
        await File.WriteAllBytesAsync(objectPath, bytes);
        await Assert.ThrowsAsync<IOException>(() => _driver.ReadAsProgramAsync(damaged));
        Assert.True(_driver.IsStub(damaged));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_folder, "cache")));
    }
}
