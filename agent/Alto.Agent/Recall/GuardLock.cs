using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;

namespace Alto.Agent.Recall;

/// <summary>
/// One recall guard per state folder: an exclusive flock(2) on a file there, held for the guard's
/// life; the kernel lets it go when the process ends, however it ends. Without it, a second guard
/// (started by hand, or by an agent whose connect came while the first was still starting) would
/// take the socket's name from the first, and the first, unreachable, would keep a group whose
/// opens of stubs no agent could take over.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed unsafe partial class GuardLock : IDisposable
{
    public const string FileName = "recall-guard.lock";

    /// <summary>EWOULDBLOCK: another process holds the lock.</summary>
    public const int ErrorHeld = 11;

    private const int ReadWriteCreateCloseOnExec = 0x2 | 0x40 | 0x80000; // O_RDWR | O_CREAT | O_CLOEXEC
    private const int ExclusiveWithoutWaiting = 0x2 | 0x4; // LOCK_EX | LOCK_NB

    private readonly int _fd;

    private GuardLock(int fd) => _fd = fd;

    /// <summary>The lock, or null with errno (<see cref="ErrorHeld"/> when another guard holds it).</summary>
    public static GuardLock? TryTake(string stateDirectory, out int errno)
    {
        var path = Encoding.UTF8.GetBytes(Path.Combine(stateDirectory, FileName) + "\0");
        int fd;
        fixed (byte* bytes = path)
        {
            fd = open(bytes, ReadWriteCreateCloseOnExec, 0b110_000_000);
        }
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        if (flock(fd, ExclusiveWithoutWaiting) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            _ = close(fd);
            return null;
        }
        errno = 0;
        return new GuardLock(fd);
    }

    public void Dispose() => _ = close(_fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int open(byte* path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int flock(int fd, int operation);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
