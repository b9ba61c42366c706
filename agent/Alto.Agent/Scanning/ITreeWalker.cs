using System.Threading.Channels;
using Alto.Scanning;

namespace Alto.Agent.Scanning;

/// <summary>Walks directory trees and streams one <see cref="ScanRecord"/> per file into <c>output</c>, completing it at the end (with the fatal error, if any).</summary>
public interface ITreeWalker
{
    Task WalkAsync(IReadOnlyList<string> roots, ChannelWriter<ScanRecord[]> output, CancellationToken cancellationToken);
}

/// <summary>The walker of this host's platform: native statx on Linux, the portable walker with the Win32 file facts on Windows.</summary>
public static class TreeWalkers
{
    /// <exception cref="PlatformNotSupportedException">Neither Linux nor Windows.</exception>
    public static ITreeWalker ForThisHost(WalkOptions options, ScanCounters counters)
    {
        if (OperatingSystem.IsLinux())
        {
            return new TreeWalker(options, counters);
        }
        if (OperatingSystem.IsWindows())
        {
            return new PortableTreeWalker(options, counters, new Win32FileFacts());
        }
        throw new PlatformNotSupportedException("the agent scans Linux and Windows file systems only");
    }
}
