using System.Text;
using System.Text.Json;
using Alto.Tiering;

namespace Alto.Agent.Stubs.Windows;

/// <summary>
/// Windows stubs through the EaseFilter CloudTier driver: a stub is a sparse file with the
/// offline and recall-on-data-access attributes whose tag data names its tier-2 object (the same
/// facts as a Linux stub's attributes). A whole-file restore is written to a cache file and
/// verified against the stub's SHA-256 before the driver rehydrates the stub from it; a block
/// restore returns the requested range (objects stored as they are; a compressed object is
/// restored whole). Anything that fails is answered unsuccessful: the program gets an error and
/// the file stays a stub.
/// </summary>
public sealed class CloudTierStubDriver(ICloudTierFilter filter, Func<Guid, ITierStore> stores, string cacheDirectory)
{
    private static readonly byte[] TagMagic = "ALTO1"u8.ToArray();

    public void MakeStub(string path, StubInfo stub, DateTimeOffset created, DateTimeOffset lastWrite, DateTimeOffset lastAccess) =>
        filter.CreateStub(path, stub.Length, EncodeTag(stub), created, lastWrite, lastAccess);

    public void Connect() => filter.Connect(HandleAsync);

    public void Disconnect() => filter.Disconnect();

    public static byte[] EncodeTag(StubInfo stub) =>
        [.. TagMagic, .. JsonSerializer.SerializeToUtf8Bytes(new TagData(stub.TargetId, stub.Locator, stub.Sha256, stub.Length, stub.Codec))];

    public static StubInfo? DecodeTag(byte[] tag)
    {
        if (!tag.AsSpan().StartsWith(TagMagic))
        {
            return null;
        }
        var data = JsonSerializer.Deserialize<TagData>(tag.AsSpan(TagMagic.Length));
        return data is null ? null : new StubInfo(data.Target, data.Locator, data.Sha256, data.Length) { Codec = data.Codec };
    }

    /// <summary>Answers one restore request of the driver.</summary>
    public async Task<CloudTierReply> HandleAsync(CloudTierRequest request)
    {
        try
        {
            if (DecodeTag(request.TagData) is not { } stub)
            {
                return CloudTierReply.Failed;
            }
            var store = stores(stub.TargetId);
            if (request.MessageType == CloudTierProtocol.RestoreBlockOrFile && stub.Codec is null && request.Length <= CloudTierProtocol.MaxReplyData)
            {
                var length = (int)Math.Min(request.Length, Math.Max(0, stub.Length - request.Offset));
                var block = new byte[length];
                await using var range = await store.OpenReadAsync(stub.Locator, request.Offset, length, CancellationToken.None);
                await range.ReadExactlyAsync(block);
                return new CloudTierReply(CloudTierProtocol.StatusSuccess, CloudTierProtocol.BlockDataWasReturned, block);
            }
            var cacheFile = await RestoreToCacheAsync(store, stub);
            var name = Encoding.Unicode.GetBytes(cacheFile + "\0");
            return new CloudTierReply(CloudTierProtocol.StatusSuccess,
                CloudTierProtocol.CacheFileWasReturned | CloudTierProtocol.RehydrateFileViaCacheFile, name);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // Every request gets an answer: an unanswered one would hang the program that opened the stub.
            return CloudTierReply.Failed;
        }
    }

    private async Task<string> RestoreToCacheAsync(ITierStore store, StubInfo stub)
    {
        Directory.CreateDirectory(cacheDirectory);
        var cacheFile = Path.Combine(cacheDirectory, $"{stub.Sha256}-{Guid.NewGuid():N}.restore");
        try
        {
            await using var stored = await store.OpenReadAsync(stub.Locator, 0, null, CancellationToken.None);
            await using var source = stub.Decode(stored);
            await using var hashing = new HashingReadStream(source);
            await using (var output = File.Create(cacheFile))
            {
                await hashing.CopyToAsync(output);
            }
            if (hashing.Sha256 != stub.Sha256 || hashing.BytesRead != stub.Length)
            {
                throw new InvalidDataException($"tier 2 returned {hashing.BytesRead} bytes with SHA-256 {hashing.Sha256}; the stub expects {stub.Sha256}");
            }
            return cacheFile;
        }
        catch
        {
            File.Delete(cacheFile);
            throw;
        }
    }

    private sealed record TagData(Guid Target, string Locator, string Sha256, long Length, string? Codec);
}
