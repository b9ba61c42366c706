using Alto.Agent.Stubs;

namespace Alto.Agent.Reconcile;

/// <summary>
/// The census on a host whose stubs a file-system filter driver keeps (Windows, the CloudTier
/// driver): what is at each path — nothing, a folder, a link, a real file, or a stub and its
/// markers, read from the driver's tag without opening the file's data, so no recall is started.
/// Paths the host's volume rules refuse (outside its volumes, or leading out of them through a
/// junction) are not looked at; the census does not follow a link where the stub was.
/// </summary>
public static class DriverStubCensus
{
    public static StubFactPart Look(IStubDriver stubs, string path, Func<string, string?> scopeRefusal)
    {
        if (scopeRefusal(path) is { } refusal)
        {
            return StubCensus.Unreadable(path, "not looked at: " + refusal);
        }
        try
        {
            var file = new FileInfo(path);
            if (file.LinkTarget is not null)
            {
                return StubCensus.Unreadable(path, "a link is where the stub was; the census does not follow links");
            }
            if (!file.Exists)
            {
                return Directory.Exists(path)
                    ? StubCensus.Unreadable(path, "a folder is where the stub was")
                    : new StubFactPart(path, "absent", null, null, null, null);
            }
            return stubs.Peek(path) is { } stub
                ? new StubFactPart(path, "stub", stub.Locator, stub.Sha256, stub.TargetId, null)
                : new StubFactPart(path, "file", null, null, null, null);
        }
        catch (Exception exception) when (exception is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return StubCensus.Unreadable(path, exception.Message);
        }
    }

    /// <summary>A name escaped as bytes (a Linux file system's) is not one a Windows volume holds: answered as not looked at.</summary>
    public static StubFactPart NotLookedAtEscaped(string escaped) =>
        StubCensus.Unreadable(escaped, "not looked at: names escaped as bytes are looked at on Linux only") with { PathEscaped = true };
}
