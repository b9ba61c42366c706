using System.Text;
using Alto.Agent.Stubs.Windows;

namespace Alto.Agent.Tests.Stubs;

/// <summary>
/// A STAND-IN for the EaseFilter CloudTier driver, which needs Windows and a commercial SDK. It
/// keeps the driver's documented side of the protocol: a stub is a sparse file of the original's
/// size and times carrying the tag data; a program's read of a stub becomes a restore request
/// (the whole file through a cache file, or one block) answered by the user-mode handler; a
/// successful whole-file answer rehydrates the stub from the cache file; an unsuccessful one fails
/// the program's read and leaves the stub.
/// </summary>
internal sealed class CloudTierStandIn : ICloudTierFilter
{
    private readonly Dictionary<string, byte[]> _tags = new(StringComparer.Ordinal);
    private Func<CloudTierRequest, Task<CloudTierReply>>? _handler;
    private uint _nextMessage;

    public void CreateStub(string path, long size, byte[] tagData, DateTimeOffset created, DateTimeOffset lastWrite, DateTimeOffset lastAccess)
    {
        using (var stub = new FileStream(path, FileMode.Truncate, FileAccess.Write))
        {
            stub.SetLength(size);
        }
        File.SetCreationTimeUtc(path, created.UtcDateTime);
        File.SetLastWriteTimeUtc(path, lastWrite.UtcDateTime);
        File.SetLastAccessTimeUtc(path, lastAccess.UtcDateTime);
        _tags[path] = tagData;
    }

    public void Connect(Func<CloudTierRequest, Task<CloudTierReply>> handler) => _handler = handler;

    public void Disconnect() => _handler = null;

    public byte[]? ReadTag(string path) => _tags.GetValueOrDefault(path);

    public Task HydrateAsync(string path, CancellationToken cancellationToken) => ReadAsProgramAsync(path);

    public bool IsStub(string path) => _tags.ContainsKey(path);

    public byte[] Tag(string path) => _tags[path];

    /// <summary>A program reads the whole file: a stub is restored first (or the read fails).</summary>
    public async Task<byte[]> ReadAsProgramAsync(string path)
    {
        if (_tags.TryGetValue(path, out var tag))
        {
            var reply = await SendAsync(CloudTierProtocol.RestoreFileToCache, path, 0, 0, tag);
            const uint Rehydrate = CloudTierProtocol.CacheFileWasReturned | CloudTierProtocol.RehydrateFileViaCacheFile;
            if (reply.ReturnStatus != CloudTierProtocol.StatusSuccess || (reply.FilterStatus & Rehydrate) != Rehydrate)
            {
                throw new IOException($"the restore of {path} failed (status 0x{reply.ReturnStatus:x8})");
            }
            var cacheFile = Encoding.Unicode.GetString(reply.Data).TrimEnd('\0');
            File.Copy(cacheFile, path, overwrite: true);
            File.Delete(cacheFile);
            _tags.Remove(path);
        }
        return await File.ReadAllBytesAsync(path);
    }

    /// <summary>A program reads one block of a stub: the handler returns it and the file stays a stub.</summary>
    public async Task<CloudTierReply> ReadBlockAsProgramAsync(string path, long offset, uint length) =>
        await SendAsync(CloudTierProtocol.RestoreBlockOrFile, path, offset, length, _tags[path]);

    private Task<CloudTierReply> SendAsync(uint type, string path, long offset, uint length, byte[] tag) =>
        (_handler ?? throw new InvalidOperationException("no service is connected to the driver"))(
            new CloudTierRequest(++_nextMessage, type, path, offset, length, new FileInfo(path).Length, tag));
}
