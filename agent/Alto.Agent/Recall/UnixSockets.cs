using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;

namespace Alto.Agent.Recall;

/// <summary>
/// Local sockets for the recall guard: SOCK_SEQPACKET Unix sockets (each send is one message, so a
/// descriptor passed with SCM_RIGHTS arrives with the words it belongs to), the peer's credentials
/// (SO_PEERCRED), and a descriptor's duplicate in another process (unix(7), cmsg(3)). Calls to
/// libc directly: .NET's Socket has no way to pass descriptors.
/// </summary>
[SupportedOSPlatform("linux")]
internal static unsafe partial class UnixSockets
{
    private const int AddressFamilyUnix = 1;
    private const int SequencedPacket = 5;
    private const int SocketCloseOnExec = 0x80000;
    private const int SocketLevel = 1;
    private const int Rights = 1;
    private const int PeerCredentials = 17;
    private const int ReceiveCloseOnExec = 0x40000000;
    private const int NoSignal = 0x4000;
    private const int MaxPathBytes = 107;
    private const short PollIn = 0x1;
    public const int MaxMessageBytes = 4096;

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public nint Name;
        public uint NameLength;
        public nint Vector;
        public nuint VectorLength;
        public nint Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public nint Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ControlHeader
    {
        public nuint Length;
        public int Level;
        public int Type;
        public int Descriptor;
    }

    /// <summary>The credentials the kernel records for a connected peer.</summary>
    public readonly record struct Peer(int ProcessId, uint UserId);

    /// <summary>
    /// A listening socket at <paramref name="path"/>, for its owner (root) only, or -1 with errno.
    /// It is bound and listening under a name of its own first, then renamed over whatever was at
    /// <paramref name="path"/>: whoever finds the socket there can connect to it, and never meets a
    /// socket bound and not yet listening (ECONNREFUSED), nor none at all, while a new one replaces an old.
    /// </summary>
    public static int Listen(string path, out int errno)
    {
        var fd = socket(AddressFamilyUnix, SequencedPacket | SocketCloseOnExec, 0);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return -1;
        }
        var bound = path + "~";
        File.Delete(bound);
        var address = Address(bound);
        if (bind(fd, &address, (uint)sizeof(SocketAddress)) != 0 || listen(fd, 16) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            _ = close(fd);
            File.Delete(bound);
            return -1;
        }
        try
        {
            File.SetUnixFileMode(bound, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(bound, path, overwrite: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // An IOException from .NET on Unix carries the errno as its HResult; a refusal is EACCES.
            errno = exception is UnauthorizedAccessException ? 13 : exception.HResult & 0xffff;
            _ = close(fd);
            File.Delete(bound);
            return -1;
        }
        errno = 0;
        return fd;
    }

    /// <summary>Connects to the socket at <paramref name="path"/>, or -1 with errno (ENOENT, ECONNREFUSED: nobody listens).</summary>
    public static int Connect(string path, out int errno)
    {
        var fd = socket(AddressFamilyUnix, SequencedPacket | SocketCloseOnExec, 0);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return -1;
        }
        var address = Address(path);
        if (connect(fd, &address, (uint)sizeof(SocketAddress)) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            _ = close(fd);
            return -1;
        }
        errno = 0;
        return fd;
    }

    public static int Accept(int listening) => accept4(listening, null, null, SocketCloseOnExec);

    public static Peer PeerOf(int connected)
    {
        var credentials = stackalloc int[3];
        var length = 12u;
        return getsockopt(connected, SocketLevel, PeerCredentials, credentials, &length) == 0
            ? new Peer(credentials[0], (uint)credentials[1])
            : new Peer(-1, uint.MaxValue);
    }

    /// <summary>Sends one message, with <paramref name="descriptor"/> passed along unless it is -1; false when the peer is gone.</summary>
    public static bool Send(int connected, string text, int descriptor = -1)
    {
        var bytes = Stubs.RawPaths.ToBytes(text);
        fixed (byte* data = bytes)
        {
            var vector = new IoVector { Base = (nint)data, Length = (nuint)bytes.Length };
            var control = new ControlHeader { Length = (nuint)(sizeof(nuint) + 8 + 4), Level = SocketLevel, Type = Rights, Descriptor = descriptor };
            var header = new MessageHeader { Vector = (nint)(&vector), VectorLength = 1 };
            if (descriptor >= 0)
            {
                header.Control = (nint)(&control);
                header.ControlLength = (nuint)sizeof(ControlHeader);
            }
            nint sent;
            do
            {
                sent = sendmsg(connected, &header, NoSignal);
            }
            while (sent < 0 && Marshal.GetLastPInvokeError() == Polling.Interrupted);
            return sent == bytes.Length;
        }
    }

    /// <summary>
    /// Receives one message within <paramref name="timeoutMilliseconds"/> (-1: no limit); null
    /// when the peer closed or nothing came in time. A descriptor that came with it lands in
    /// <paramref name="descriptor"/> (close-on-exec), else -1.
    /// </summary>
    public static string? Receive(int connected, int timeoutMilliseconds, out int descriptor)
    {
        descriptor = -1;
        if (!Wait(connected, timeoutMilliseconds))
        {
            return null;
        }
        var buffer = stackalloc byte[MaxMessageBytes];
        var vector = new IoVector { Base = (nint)buffer, Length = MaxMessageBytes };
        var control = default(ControlHeader);
        var header = new MessageHeader { Vector = (nint)(&vector), VectorLength = 1, Control = (nint)(&control), ControlLength = (nuint)sizeof(ControlHeader) };
        nint received;
        do
        {
            received = recvmsg(connected, &header, ReceiveCloseOnExec);
        }
        while (received < 0 && Marshal.GetLastPInvokeError() == Polling.Interrupted);
        if (received <= 0)
        {
            return null;
        }
        if (header.ControlLength >= (nuint)(sizeof(nuint) + 8 + 4) && control.Level == SocketLevel && control.Type == Rights)
        {
            descriptor = control.Descriptor;
        }
        return Stubs.RawPaths.FromBytes(new ReadOnlySpan<byte>(buffer, (int)received));
    }

    /// <summary>Waits up to <paramref name="milliseconds"/> (-1: no limit) until <paramref name="fd"/> can be read; true when it can.</summary>
    public static bool Wait(int fd, int milliseconds)
    {
        var poll = stackalloc int[2];
        poll[0] = fd;
        poll[1] = PollIn;
        return Polling.Poll(poll, 1, milliseconds) > 0;
    }

    /// <summary>
    /// Waits up to <paramref name="milliseconds"/> until any of <paramref name="fds"/> can be read
    /// (negative ones are left out) or, given <paramref name="mountTable"/> (<see cref="MountWatch.Descriptor"/>),
    /// the mount table changes; true when it did. The poll takes that change: the caller must act on it.
    /// </summary>
    public static bool WaitAny(ReadOnlySpan<int> fds, int milliseconds, int mountTable = -1)
    {
        // struct pollfd as one int: fd, then events (low half) and revents (high half).
        var poll = stackalloc int[2 * (fds.Length + 1)];
        for (var i = 0; i < fds.Length; i++)
        {
            poll[2 * i] = fds[i];
            poll[2 * i + 1] = PollIn;
        }
        poll[2 * fds.Length] = mountTable;
        poll[2 * fds.Length + 1] = MountWatch.PollPriority;
        _ = Polling.Poll(poll, (nuint)fds.Length + 1, milliseconds);
        return mountTable >= 0 && ((poll[2 * fds.Length + 1] >> 16) & (MountWatch.PollPriority | MountWatch.PollError)) != 0;
    }

    public static void Close(int fd) => _ = close(fd);

    /// <summary>Starts a new session: a process started by the agent outlives the agent's terminal and process group.</summary>
    public static void StartSession() => _ = setsid();

    /// <summary>Points standard input at /dev/null and standard output and error at <paramref name="log"/>.</summary>
    public static void RedirectStandardStreams(string log)
    {
        var devNull = open("/dev/null"u8, 0x80002, 0);
        var output = open(Encoding.UTF8.GetBytes(log + "\0"), 0x80441, 0x180); // O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC, 0600
        if (devNull >= 0)
        {
            _ = dup2(devNull, 0);
            _ = close(devNull);
        }
        if (output >= 0)
        {
            _ = dup2(output, 1);
            _ = dup2(output, 2);
            _ = close(output);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SocketAddress
    {
        public ushort Family;
        public fixed byte Path[108];
    }

    private static SocketAddress Address(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length > MaxPathBytes)
        {
            throw new ArgumentException($"a Unix socket path holds at most {MaxPathBytes} bytes: {path}", nameof(path));
        }
        var address = new SocketAddress { Family = AddressFamilyUnix };
        for (var i = 0; i < bytes.Length; i++)
        {
            address.Path[i] = bytes[i];
        }
        return address;
    }

    private static int open(ReadOnlySpan<byte> nulTerminatedPath, int flags, int mode)
    {
        fixed (byte* path = nulTerminatedPath)
        {
            return OpenFile(path, flags, mode);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    private static partial int OpenFile(byte* path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, SocketAddress* address, uint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int listen(int fd, int backlog);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int connect(int fd, SocketAddress* address, uint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int accept4(int fd, void* address, uint* length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getsockopt(int fd, int level, int name, void* value, uint* length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendmsg(int fd, MessageHeader* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(int fd, MessageHeader* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsid();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int dup2(int from, int to);
}
