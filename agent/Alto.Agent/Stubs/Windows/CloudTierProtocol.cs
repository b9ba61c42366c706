namespace Alto.Agent.Stubs.Windows;

/// <summary>
/// The parts of the EaseFilter CloudTier driver protocol Alto uses, as its SDK documents them:
/// the driver asks the user-mode service to restore a stub (a block, or the whole file through a
/// cache file), and the service answers with a status and, for a block, the data.
/// </summary>
public static class CloudTierProtocol
{
    public const uint RestoreBlockOrFile = 0x00000001;
    public const uint RestoreFileToOriginalFolder = 0x00000002;
    public const uint RestoreFileToCache = 0x00000008;

    public const uint StatusSuccess = 0;
    public const uint StatusUnsuccessful = 0xc0000001;

    public const uint BlockDataWasReturned = 0x00000008;
    public const uint CacheFileWasReturned = 0x00000010;
    public const uint RehydrateFileViaCacheFile = 0x00000020;

    public const uint FileAttributeOffline = 0x00001000;
    public const uint FileAttributeRecallOnDataAccess = 0x00400000;

    /// <summary>Largest reply data the driver takes in one message (a block, or a cache file's name).</summary>
    public const int MaxReplyData = 65536;
}

/// <summary>A request from the driver: which stub, what it needs, and the tag data the stub was created with.</summary>
public sealed record CloudTierRequest(uint MessageId, uint MessageType, string FileName, long Offset, uint Length, long FileSize, byte[] TagData);

/// <summary>The answer: a status, the filter flags saying what was returned, and the data (a block, or a cache file name in UTF-16).</summary>
public sealed record CloudTierReply(uint ReturnStatus, uint FilterStatus, byte[] Data)
{
    public static CloudTierReply Failed { get; } = new(CloudTierProtocol.StatusUnsuccessful, 0, []);
}

/// <summary>The driver's surface as the adapter uses it: make stubs, and answer its restore requests.</summary>
public interface ICloudTierFilter
{
    /// <summary>Replaces the file with a stub of the same size and times holding <paramref name="tagData"/>.</summary>
    void CreateStub(string path, long size, byte[] tagData, DateTimeOffset created, DateTimeOffset lastWrite, DateTimeOffset lastAccess);

    /// <summary>The tag data of a stub, or null when the file is not one; reading it does not recall the stub.</summary>
    byte[]? ReadTag(string path);

    /// <summary>Makes the driver rehydrate a stub as a program's read would (its restore requests reach the handler).</summary>
    Task HydrateAsync(string path, CancellationToken cancellationToken);

    /// <summary>Connects to the driver; <paramref name="handler"/> answers every restore request.</summary>
    void Connect(Func<CloudTierRequest, Task<CloudTierReply>> handler);

    void Disconnect();
}
