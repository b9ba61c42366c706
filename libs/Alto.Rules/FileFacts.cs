namespace Alto.Rules;

/// <summary>
/// What the rules look at for one file, as spans so the planner can evaluate straight from its
/// read buffer. Times are unix seconds; the extension is without the dot.
/// </summary>
public readonly ref struct FileFacts(
    ReadOnlySpan<char> path,
    ReadOnlySpan<char> extension,
    long sizeBytes,
    long accessedUnix,
    long modifiedUnix,
    bool isStub = false,
    bool inFlight = false)
{
    public ReadOnlySpan<char> Path { get; } = path;

    public ReadOnlySpan<char> Extension { get; } = extension;

    public long SizeBytes { get; } = sizeBytes;

    public long AccessedUnix { get; } = accessedUnix;

    public long ModifiedUnix { get; } = modifiedUnix;

    /// <summary>The file on disk is already a stub.</summary>
    public bool IsStub { get; } = isStub;

    /// <summary>Its tier object is past planning (dispatched, uploading, stubbed, recalling, failed...).</summary>
    public bool InFlight { get; } = inFlight;
}
