using System.Text;
using System.Text.Json;
using Alto.Agent.Jobs;
using Alto.Tiering;
using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Stubs.Windows;

/// <summary>
/// Windows stubs through the EaseFilter CloudTier driver: a stub is a sparse file with the
/// offline and recall-on-data-access attributes whose tag data names its tier-2 object (the same
/// facts as a Linux stub's attributes). A whole-file restore is written to a cache file and
/// verified against the stub's SHA-256 before the driver rehydrates the stub from it; a block
/// restore returns the requested range (objects stored as they are; a compressed object is
/// restored whole). Anything that fails is answered unsuccessful: the program gets an error and
/// the file stays a stub. The driver makes a stub in one step and rehydrates it itself, so a
/// crash of the agent leaves a file either as it was or a stub: recovery has nothing to undo.
/// </summary>
public sealed class CloudTierStubDriver(
    ICloudTierFilter filter, Func<Guid, ITierStore> stores, string cacheDirectory, RecallCluster? cluster = null, TimeSpan? stallLimit = null) : IStubDriver
{
    private static readonly byte[] TagMagic = "ALTO1"u8.ToArray();

    public StubInfo? Read(SafeFileHandle file, string path) => Peek(path);

    public StubInfo? Peek(string path) => filter.ReadTag(path) is { } tag ? DecodeTag(tag) : null;

    public FileTimes Snapshot(SafeFileHandle file)
    {
        var access = UnixTime(File.GetLastAccessTimeUtc(file));
        var modify = UnixTime(File.GetLastWriteTimeUtc(file));
        var created = UnixTime(File.GetCreationTimeUtc(file));
        // NTFS has no inode number through this API; size and times tell a changed file.
        return new FileTimes(RandomAccess.GetLength(file), 0, access.Seconds, access.Nanoseconds, modify.Seconds, modify.Nanoseconds,
            created.Seconds, created.Nanoseconds, 0);
    }

    public void MakeStub(string path, StubInfo stub, FileTimes readAt)
    {
        DateTime created;
        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            var now = Snapshot(file);
            if (now.Size != readAt.Size || now.Size != stub.Length || now.ModifySeconds != readAt.ModifySeconds
                || now.ModifyNanoseconds != readAt.ModifyNanoseconds)
            {
                throw new FileChangedException(path);
            }
            created = File.GetCreationTimeUtc(file);
        }
        filter.CreateStub(path, stub.Length, EncodeTag(stub), created,
            FromUnixTime(readAt.ModifySeconds, readAt.ModifyNanoseconds), FromUnixTime(readAt.AccessSeconds, readAt.AccessNanoseconds));
    }

    /// <summary>On command, a stub is recalled the way a program's read recalls it: through the driver, answered by <see cref="HandleAsync"/>.</summary>
    public async Task<StubInfo?> RecallAsync(
        string path, Func<Guid, ITierStore> stores, CancellationToken cancellationToken, RecallCluster? cluster = null, Func<string, string?>? refusal = null)
    {
        if (Peek(path) is not { } stub)
        {
            return null;
        }
        // The driver rehydrates by path; the refusal resolves every junction and link, so it is asked right before it does.
        if (refusal?.Invoke(path) is { } refused)
        {
            throw new StubRefusedException(path, refused);
        }
        try
        {
            await filter.HydrateAsync(path, cancellationToken);
        }
        catch (IOException exception)
        {
            throw new StubRecallException(path, exception.Message, exception);
        }
        return Peek(path) is null ? stub : throw new StubRecallException(path, "the driver left the file a stub");
    }

    /// <summary>Stubbing and rehydrating are the driver's single steps: the file is a stub exactly when it carries Alto's tag.</summary>
    public bool Settle(SafeFileHandle file, JournalEntry entry) => Peek(entry.Path) is not null;

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
            if (request.MessageType == CloudTierProtocol.RestoreBlockOrFile && !stub.IsWholeObjectOnly && request.Length <= CloudTierProtocol.MaxReplyData)
            {
                var length = (int)Math.Min(request.Length, Math.Max(0, stub.Length - request.Offset));
                var block = new byte[length];
                // Tier 2 that stops answering fails the read (the program gets an error) instead of holding it.
                await using var range = await StallGuardStream.OpenReadAsync(store, stub.Locator, StallLimit, CancellationToken.None, request.Offset, length);
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

    /// <summary>How long tier 2 may send nothing while a program waits for a restore (<c>--recall-stall-seconds</c>).</summary>
    public TimeSpan StallLimit { get; } = stallLimit ?? StallGuardStream.DefaultLimit;

    private async Task<string> RestoreToCacheAsync(ITierStore store, StubInfo stub)
    {
        Directory.CreateDirectory(cacheDirectory);
        var cacheFile = Path.Combine(cacheDirectory, $"{stub.Sha256}-{Guid.NewGuid():N}.restore");
        try
        {
            await using var stored = await StallGuardStream.OpenReadAsync(store, stub.Locator, StallLimit, CancellationToken.None);
            await using var source = await stub.DecodeAsync(stored, cluster?.Unwrap, CancellationToken.None);
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

    private static (long Seconds, uint Nanoseconds) UnixTime(DateTime utc)
    {
        var seconds = Math.DivRem((utc - DateTime.UnixEpoch).Ticks, TimeSpan.TicksPerSecond, out var rest);
        if (rest < 0)
        {
            // Before 1970: whole seconds round down, as statx reports them.
            seconds--;
            rest += TimeSpan.TicksPerSecond;
        }
        return (seconds, (uint)(rest * 100));
    }

    private static DateTime FromUnixTime(long seconds, uint nanoseconds) =>
        DateTime.UnixEpoch.AddTicks(seconds * TimeSpan.TicksPerSecond + nanoseconds / 100);

    private sealed record TagData(Guid Target, string Locator, string Sha256, long Length, string? Codec);
}
