using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Alto.Agent.Recall;

/// <summary>
/// Tells when this process's mount table changes: poll(2) on <c>/proc/self/mountinfo</c> reports
/// POLLPRI once per change (proc(5)). A recall mark is a file system's (its superblock's): a
/// volume unmounted and mounted again is a new superblock without the mark, whose stubs would read
/// as holes, and a volume mounted after the agent armed recall was never marked. Whoever holds the
/// recall group arms its volumes again at each change (<see cref="ArmedRecall"/>, and the recall
/// guard while no agent runs).
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed unsafe partial class MountWatch : IDisposable
{
    private const int ReadOnlyCloseOnExec = 0x80000; // O_RDONLY | O_CLOEXEC
    public const short PollPriority = 0x2;
    public const short PollError = 0x8;

    private readonly int _fd;

    private MountWatch(int fd) => _fd = fd;

    /// <summary>The open mount table, for a poll over several descriptors (<see cref="UnixSockets.WaitAny"/>).</summary>
    public int Descriptor => _fd;

    /// <summary>The watch, or null where the mount table cannot be read (no /proc).</summary>
    public static MountWatch? TryOpen()
    {
        fixed (byte* path = "/proc/self/mountinfo\0"u8)
        {
            var fd = open(path, ReadOnlyCloseOnExec);
            return fd < 0 ? null : new MountWatch(fd);
        }
    }

    /// <summary>Waits up to <paramref name="milliseconds"/> for the mount table to change; true when it did (since the last call).</summary>
    public bool Changed(int milliseconds)
    {
        // struct pollfd: int fd, short events, short revents.
        var poll = stackalloc short[4];
        *(int*)poll = _fd;
        poll[2] = PollPriority;
        return Polling.Poll(poll, 1, milliseconds) > 0 && (poll[3] & (PollPriority | PollError)) != 0;
    }

    public void Dispose() => _ = close(_fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int open(byte* path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
