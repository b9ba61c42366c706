using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Alto.Agent.Stubs;

/// <summary>
/// A descriptor that names a file without opening it (<c>O_PATH</c>): it raises no fanotify
/// event, so a stub looked at this way is not recalled, and it does not follow a link at the last
/// name. What it holds is then read through <see cref="Self"/> (<c>/proc/self/fd/N</c>), where the
/// kernel gives the very file the descriptor holds, not whatever the path names a moment later —
/// so a local user who swaps a folder or the file for a link cannot lead the agent elsewhere after
/// it has judged where the descriptor went (<see cref="Reached"/>).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed unsafe partial class PathOnlyHandle : IDisposable
{
    public const int ErrorNoEntry = 2;
    public const int ErrorNotDirectory = 20;

    // O_PATH and O_CLOEXEC are the same on every Linux architecture; O_NOFOLLOW is 0400000 in the
    // generic ABI (x86-64) and 0100000 on ARM (asm/fcntl.h).
    private const int OpenPath = 0x200000;
    private const int OpenCloseOnExec = 0x80000;
    private static readonly int OpenNoFollow = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    private readonly int _fd;

    private PathOnlyHandle(int fd) => _fd = fd;

    /// <summary>The handle, or null with the error number (no such file: <see cref="ErrorNoEntry"/>, a part not a folder: <see cref="ErrorNotDirectory"/>).</summary>
    public static PathOnlyHandle? Open(string path, out int errno)
    {
        fixed (byte* pathBytes = LinuxFiles.Nul(path))
        {
            var fd = LinuxFiles.open(pathBytes, OpenPath | OpenNoFollow | OpenCloseOnExec);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            return fd < 0 ? null : new PathOnlyHandle(fd);
        }
    }

    /// <summary>The path through which the held file itself is read (its attributes, its status).</summary>
    public string Self => $"/proc/self/fd/{_fd}";

    /// <summary>The absolute path the descriptor reached, or null where the system cannot say.</summary>
    public string? Reached => LinuxFiles.ReachedPath(_fd);

    /// <summary>The held file's status; a link at the last name is the link itself (<see cref="FileTimes.TypeLink"/>).</summary>
    public FileTimes Status => LinuxFiles.Stat(_fd);

    public void Dispose() => _ = close(_fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
