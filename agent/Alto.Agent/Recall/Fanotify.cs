using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;

namespace Alto.Agent.Recall;

/// <summary>The fanotify calls of transparent recall (fanotify(7), kernel ≥ 6.14 for pre-content events).</summary>
[SupportedOSPlatform("linux")]
internal static unsafe partial class Fanotify
{
    public const uint ClassPreContent = 0x08;
    public const uint CloseOnExec = 0x01;
    public const uint NonBlocking = 0x02;
    public const uint UnlimitedQueue = 0x10;

    /// <summary>FAN_REPORT_FD_ERROR (Linux 6.13): an event whose descriptor could not be opened comes with the error, not as a failed read.</summary>
    public const uint ReportFdError = 0x2000;

    public const uint MarkAdd = 0x01;
    public const uint MarkRemove = 0x02;
    public const uint MarkFilesystem = 0x100;
    public const uint MarkIgnoredSurviveModify = 0x40;
    public const uint MarkEvictable = 0x200;
    public const uint MarkIgnore = 0x400;

    public const ulong OpenPermission = 0x00010000;
    public const ulong PreAccess = 0x00100000;

    public const uint Allow = 0x01;
    public const uint Deny = 0x02;

    private const int EventMetadataLength = 24;
    private const int NoFd = -1;

    private const uint OpenReadOnly = 0x00;
    private const uint OpenNonBlocking = 0x800;
    private const int InvalidArgument = 22;
    private const uint OpenLargeFile = 0x8000;
    private const uint OpenCloseOnExec = 0x80000;
    private const short PollIn = 0x1;
    private const int DuplicateCloseOnExec = 1030;

    /// <summary>FAN_DENY_ERRNO(errno): the opener or reader gets that error.</summary>
    public static uint DenyWithError(int errno) => Deny | ((uint)(errno & 0xff) << 24);

    /// <summary>
    /// A group whose events carry read-only descriptors opened without waiting on leases. The kernel
    /// opens an event's descriptor while the listener reads the event, and an open that conflicts
    /// with another program's lease sleeps until the holder gives the file up or the kernel takes
    /// the lease away (fs.lease-break-time, 45 s): any local user may take a lease on a file of
    /// theirs, and every open of every armed volume would wait behind the listener that long. Read
    /// only, the descriptor conflicts with no read lease (a file server's, a client's read
    /// delegation); against a write lease it fails at once, the kernel refuses that one access
    /// (EPERM) and starts the lease's break, and the listener is told (<see cref="ReportFdError"/>;
    /// on a kernel without it the event is only refused). A recall writes through a descriptor
    /// opened for writing in its own task (<c>LinuxStubs.RecallAsync</c>).
    /// </summary>
    public static int Init()
    {
        const uint Flags = ClassPreContent | CloseOnExec | NonBlocking | UnlimitedQueue;
        const uint EventFlags = OpenReadOnly | OpenNonBlocking | OpenLargeFile | OpenCloseOnExec;
        var group = fanotify_init(Flags | ReportFdError, EventFlags);
        return group < 0 && LastError == InvalidArgument ? fanotify_init(Flags, EventFlags) : group;
    }

    public static int MarkPath(int group, uint flags, ulong mask, string path)
    {
        fixed (byte* bytes = Encoding.UTF8.GetBytes(path + "\0"))
        {
            return fanotify_mark(group, flags, mask, -100, bytes);
        }
    }

    /// <summary>Marks the inode an open descriptor refers to.</summary>
    public static int MarkDescriptor(int group, uint flags, ulong mask, int fd) => fanotify_mark(group, flags, mask, fd, null);

    public static int LastError => Marshal.GetLastPInvokeError();

    /// <summary>Waits up to <paramref name="milliseconds"/> for events; true when there are some to read.</summary>
    public static bool Wait(int fd, int milliseconds)
    {
        var poll = stackalloc int[2];
        poll[0] = fd;
        poll[1] = PollIn;
        return Polling.Poll(poll, 1, milliseconds) > 0;
    }

    public static int Read(int fd, Span<byte> buffer)
    {
        fixed (byte* bytes = buffer)
        {
            return (int)read(fd, bytes, (nuint)buffer.Length);
        }
    }

    /// <summary>
    /// One permission event: the descriptor of the file it is about, and the process that asked. A
    /// negative <see cref="Fd"/> is the error the kernel met opening it (<see cref="ReportFdError"/>):
    /// the kernel has refused that access itself, and the event takes no answer.
    /// </summary>
    public readonly record struct PermissionEvent(int Fd, int Process);

    /// <summary>
    /// Reads the events waiting in <paramref name="group"/> into <paramref name="events"/> (cleared
    /// first); events without a file (queue overflow) are left out.
    /// </summary>
    public static void ReadEvents(int group, byte[] buffer, List<PermissionEvent> events)
    {
        events.Clear();
        var length = Read(group, buffer);
        for (var offset = 0; offset + EventMetadataLength <= length;)
        {
            var eventLength = BitConverter.ToInt32(buffer, offset);
            var fd = BitConverter.ToInt32(buffer, offset + 16);
            var process = BitConverter.ToInt32(buffer, offset + 20);
            offset += Math.Max(eventLength, EventMetadataLength);
            if (fd != NoFd)
            {
                events.Add(new PermissionEvent(fd, process));
            }
        }
    }

    public static void Respond(int group, int eventFd, uint response) => _ = TryRespond(group, eventFd, response);

    /// <summary>Answers the permission event the group knows by <paramref name="eventNumber"/>; false when it knows none (ENOENT).</summary>
    public static bool TryRespond(int group, int eventNumber, uint response)
    {
        var message = stackalloc uint[2];
        message[0] = (uint)eventNumber;
        message[1] = response;
        return write(group, message, 8) == 8;
    }

    public static void Close(int fd) => _ = close(fd);

    /// <summary>
    /// <see cref="TakeNumber"/> for several opens handed over together, in place. Their descriptors
    /// came in at this process's lowest free numbers, which may be others' numbers: each one moved
    /// frees its old number for another, so they are moved until none more can be.
    /// </summary>
    public static void TakeNumbers(IList<WaitingOpen> opens)
    {
        for (var moved = true; moved;)
        {
            moved = false;
            for (var i = 0; i < opens.Count; i++)
            {
                var open = opens[i];
                if (open.Fd != open.Number && TakeNumber(open.Fd, open.Number) == open.Number)
                {
                    opens[i] = open with { Fd = open.Number };
                    moved = true;
                }
            }
        }
    }

    /// <summary>
    /// The descriptor of an event another process read (the recall guard), moved to the number the
    /// kernel knows that event by when this process has that number free: then no event read here can
    /// be given the number while the one handed over waits for its answer (the kernel answers the
    /// oldest event with a number, whoever meant which). Otherwise the descriptor stays as it came,
    /// and the number is another descriptor's of this process for now.
    /// </summary>
    public static int TakeNumber(int fd, int number)
    {
        if (fd == number)
        {
            return fd;
        }
        var moved = fcntl(fd, DuplicateCloseOnExec, number);
        if (moved == number)
        {
            _ = close(fd);
            return number;
        }
        if (moved >= 0)
        {
            _ = close(moved);
        }
        return fd;
    }

    /// <summary>
    /// Raises the calling thread's scheduling priority (a nice value below the process's; needs
    /// CAP_SYS_NICE, which the root agent has): false when the kernel refused.
    /// </summary>
    public static bool RaiseThreadPriority(int nice) => setpriority(0, gettid(), nice) == 0;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpriority(int which, int who, int priority);

    [LibraryImport("libc")]
    private static partial int gettid();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fanotify_init(uint flags, uint eventFlags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fanotify_mark(int group, uint flags, ulong mask, int directoryFd, byte* path);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int command, int argument);
}
