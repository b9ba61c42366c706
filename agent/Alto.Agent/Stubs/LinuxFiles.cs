using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Stubs;

/// <summary>Times and size of an open file, to the nanosecond, as statx reports them.</summary>
public readonly record struct FileTimes(long Size, long Blocks, long AccessSeconds, uint AccessNanoseconds, long ModifySeconds, uint ModifyNanoseconds,
    long ChangeSeconds, uint ChangeNanoseconds, ulong Inode)
{
    /// <summary>The file system the file is on (major and minor device number), 0 where unknown.</summary>
    public ulong Device { get; init; }

    /// <summary>Which file this is, whatever its name: inode numbers repeat across file systems.</summary>
    public FileIdentity Identity => new(Device, Inode);

    /// <summary>The file's type and permission bits (st_mode).</summary>
    public ushort Mode { get; init; }

    /// <summary>How many names (hard links) the file has.</summary>
    public uint Links { get; init; }

    /// <summary>The file's type alone (S_IFMT of <see cref="Mode"/>).</summary>
    public int Type => Mode & 0xF000;

    public const int TypeRegular = 0x8000;
    public const int TypeDirectory = 0x4000;
    public const int TypeLink = 0xA000;
}

/// <summary>A file as the system knows it: its file system (device) and inode. Every name (hard link) of a file has the same.</summary>
public readonly record struct FileIdentity(ulong Device, ulong Inode);

/// <summary>
/// The libc calls stubs need on an open file: extended attributes, hole punching, exact
/// timestamps, fsync. Every call takes a file handle (never a path), so a call made on an
/// fanotify event's descriptor can never raise another event.
/// </summary>
[SupportedOSPlatform("linux")]
public static unsafe partial class LinuxFiles
{
    public const int ErrorNoData = 61;
    public const int ErrorNotSupported = 95;
    public const int ErrorIo = 5;
    public const int ErrorNotPermitted = 1;

    /// <summary>EWOULDBLOCK (EAGAIN): an open that would have to wait for a lease to be given up.</summary>
    public const int ErrorWouldBlock = 11;

    private const int FallocPunchHole = 0x02;
    private const int FallocKeepSize = 0x01;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;

    public static void SetAttribute(SafeFileHandle file, string name, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        fixed (byte* nameBytes = Nul(name))
        fixed (byte* valueBytes = bytes)
        {
            Check(fsetxattr(Fd(file), nameBytes, valueBytes, (nuint)bytes.Length, 0), $"setting {name}");
        }
    }

    /// <summary>The attribute's value, or null when the file does not have it.</summary>
    public static string? GetAttribute(SafeFileHandle file, string name) => GetAttribute(Fd(file), name);

    public static string? GetAttribute(int fd, string name)
    {
        Span<byte> buffer = stackalloc byte[1024];
        fixed (byte* nameBytes = Nul(name))
        fixed (byte* value = buffer)
        {
            return AttributeValue(fgetxattr(fd, nameBytes, value, (nuint)buffer.Length), buffer, name);
        }
    }

    /// <summary>
    /// An attribute read by path, without opening the file: looking at a stub this way raises no
    /// fanotify event, so it does not recall it.
    /// </summary>
    public static string? GetAttributeByPath(string path, string name)
    {
        Span<byte> buffer = stackalloc byte[1024];
        fixed (byte* pathBytes = Nul(path))
        fixed (byte* nameBytes = Nul(name))
        fixed (byte* value = buffer)
        {
            return AttributeValue(getxattr(pathBytes, nameBytes, value, (nuint)buffer.Length), buffer, $"{name} of {path}");
        }
    }

    /// <summary>What a getxattr call returned: the value, or null when the file has no such attribute.</summary>
    private static string? AttributeValue(nint length, ReadOnlySpan<byte> buffer, string what)
    {
        if (length >= 0)
        {
            return Encoding.UTF8.GetString(buffer[..(int)length]);
        }
        var errno = Marshal.GetLastPInvokeError();
        return errno is ErrorNoData or ErrorNotSupported ? null : throw Error(errno, $"reading {what}");
    }

    /// <summary>
    /// The type of what is at a path (links followed; <see cref="FileTimes.Type"/>), looked at by the
    /// name's own bytes (.NET's <c>Directory.Exists</c> writes U+FFFD for a name that is not UTF-8
    /// and finds nothing); null when nothing can be found there.
    /// </summary>
    public static int? TypeAt(string path)
    {
        try
        {
            return StatPath(path).Type;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The status of a path, without opening it (no fanotify event, no recall).</summary>
    public static FileTimes StatPath(string path)
    {
        var buffer = stackalloc byte[256];
        const int AtCurrentDirectory = -100;
        fixed (byte* pathBytes = Nul(path))
        {
            Check(statx(AtCurrentDirectory, pathBytes, 0, StatxBasicStats, buffer), $"reading the status of {path}");
        }
        return Decode(buffer);
    }

    /// <summary>
    /// The id of the mount <paramref name="path"/> is on: statx's unique one (Linux 6.8 and later,
    /// never given twice), else the older one (which a later mount may reuse); 0 where it cannot be read.
    /// </summary>
    public static ulong MountId(string path)
    {
        const uint MountIdMask = 0x1000; // STATX_MNT_ID
        const uint UniqueMountIdMask = 0x4000; // STATX_MNT_ID_UNIQUE
        const int AtCurrentDirectory = -100;
        var buffer = stackalloc byte[256];
        fixed (byte* pathBytes = Nul(path))
        {
            if (statx(AtCurrentDirectory, pathBytes, 0, UniqueMountIdMask, buffer) != 0)
            {
                return 0;
            }
        }
        var answered = *(uint*)buffer;
        return (answered & (UniqueMountIdMask | MountIdMask)) != 0 ? *(ulong*)(buffer + 144) : 0;
    }

    /// <summary>The fields of struct statx that stubs use.</summary>
    private static FileTimes Decode(byte* buffer) => new(
        Size: *(long*)(buffer + 40), Blocks: *(long*)(buffer + 48),
        AccessSeconds: *(long*)(buffer + 64), AccessNanoseconds: *(uint*)(buffer + 72),
        ModifySeconds: *(long*)(buffer + 112), ModifyNanoseconds: *(uint*)(buffer + 120),
        ChangeSeconds: *(long*)(buffer + 96), ChangeNanoseconds: *(uint*)(buffer + 104),
        Inode: *(ulong*)(buffer + 32))
    {
        Device = ((ulong)*(uint*)(buffer + 136) << 32) | *(uint*)(buffer + 140),
        Mode = *(ushort*)(buffer + 28),
        Links = *(uint*)(buffer + 16),
    };

    public static void RemoveAttribute(SafeFileHandle file, string name) => RemoveAttribute(Fd(file), name);

    public static void RemoveAttribute(int fd, string name)
    {
        fixed (byte* nameBytes = Nul(name))
        {
            if (fremovexattr(fd, nameBytes) != 0 && Marshal.GetLastPInvokeError() != ErrorNoData)
            {
                throw Error(Marshal.GetLastPInvokeError(), $"removing {name}");
            }
        }
    }

    /// <summary>
    /// Releases all of the file's data blocks; its size stays and reads return zeros until data is
    /// written back. The range is rounded up past the end, so the last, partial block goes too.
    /// </summary>
    public static void PunchHole(SafeFileHandle file, long length) => PunchHole(Fd(file), length);

    public static void PunchHole(int fd, long length)
    {
        if (length > 0)
        {
            const long Megabyte = 1 << 20;
            var whole = (length + Megabyte - 1) / Megabyte * Megabyte;
            Check(fallocate(fd, FallocPunchHole | FallocKeepSize, 0, whole), "releasing the data blocks");
        }
    }

    public static FileTimes Stat(SafeFileHandle file) => Stat(Fd(file));

    public static FileTimes Stat(int fd)
    {
        var buffer = stackalloc byte[256];
        byte empty = 0;
        Check(statx(fd, &empty, AtEmptyPath, StatxBasicStats, buffer), "reading the file's status");
        return Decode(buffer);
    }

    /// <summary>Puts access and modification times back exactly as they were.</summary>
    public static void RestoreTimes(int fd, FileTimes times)
    {
        var spec = stackalloc long[4];
        spec[0] = times.AccessSeconds;
        spec[1] = times.AccessNanoseconds;
        spec[2] = times.ModifySeconds;
        spec[3] = times.ModifyNanoseconds;
        Check(futimens(fd, spec), "restoring the file's times");
    }

    /// <summary>
    /// True when any byte of the file is backed by data (SEEK_DATA finds some). A stub has none;
    /// its only block, if any, holds the extended attributes that did not fit in the inode.
    /// </summary>
    public static bool HasData(SafeFileHandle file)
    {
        const int SeekData = 3;
        const int NoSuchDevice = 6;
        if (lseek(Fd(file), 0, SeekData) >= 0)
        {
            return true;
        }
        var errno = Marshal.GetLastPInvokeError();
        return errno == NoSuchDevice ? false : throw Error(errno, "looking for data");
    }

    public static void Sync(int fd) => Check(fsync(fd), "flushing the file to disk");

    /// <summary>
    /// Opens a regular file (by path, or through a <c>/proc/self/fd/N</c> link) without waiting on
    /// another program's lease (<c>O_NONBLOCK</c>). An open that conflicts with a lease otherwise
    /// sleeps until its holder gives the file up or the kernel takes the lease away (45 s by
    /// default): any local user may take a lease on a file of theirs, and could hold the agent's
    /// jobs that long for each file. Such a file counts as in use instead.
    /// </summary>
    /// <exception cref="FileInUseException">Another program holds a lease on the file that the open would break.</exception>
    public static SafeFileHandle OpenWithoutWaiting(string path, FileAccess access) => OpenByPath(path, access, waitOnLeases: false);

    /// <summary>
    /// Opens the file at a path (following links) as <see cref="File.OpenHandle(string, FileMode, FileAccess, FileShare, FileOptions, long)"/>
    /// would, but by the name's own bytes (<see cref="RawPaths"/>): .NET would write a name that is
    /// not UTF-8 as U+FFFD and find no file. With <paramref name="waitOnLeases"/> false, as
    /// <see cref="OpenWithoutWaiting"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing is at the path, or a folder on it is gone.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be opened so.</exception>
    public static SafeFileHandle OpenByPath(string path, FileAccess access, bool waitOnLeases = true)
    {
        const int ReadOnly = 0, ReadWrite = 2, NonBlocking = 0x800, CloseOnExec = 0x80000;
        const int AccessDenied = 13;
        int fd;
        fixed (byte* pathBytes = Nul(path))
        {
            fd = open(pathBytes, (access == FileAccess.Read ? ReadOnly : ReadWrite) | (waitOnLeases ? 0 : NonBlocking) | CloseOnExec);
        }
        if (fd >= 0)
        {
            return new SafeFileHandle(fd, ownsHandle: true);
        }
        var errno = Marshal.GetLastPInvokeError();
        throw errno switch
        {
            ErrorWouldBlock => new FileInUseException(path, FileInUseException.Leased),
            PathOnlyHandle.ErrorNoEntry or PathOnlyHandle.ErrorNotDirectory => new FileNotFoundException($"{path} is gone", path),
            AccessDenied or ErrorNotPermitted => new UnauthorizedAccessException($"opening {path} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})"),
            _ => Error(errno, $"opening {path}"),
        };
    }

    public static int Fd(SafeFileHandle file) => (int)file.DangerousGetHandle();

    /// <summary>Whether <paramref name="fd"/> was opened for writing (F_GETFL's access mode is not O_RDONLY).</summary>
    public static bool OpenForWriting(int fd)
    {
        const int GetFlags = 3, AccessMode = 3;
        var flags = fcntl(fd, GetFlags, 0);
        return flags >= 0 ? (flags & AccessMode) != 0 : throw Error(Marshal.GetLastPInvokeError(), "reading the descriptor's flags");
    }

    /// <summary>The path an open descriptor refers to (from /proc; reading a link opens nothing).</summary>
    public static string PathOf(int fd)
    {
        // readlink itself, not FileInfo.LinkTarget: a name that is not UTF-8 must come back as its bytes (RawPaths).
        var target = stackalloc byte[4096];
        fixed (byte* link = Nul($"/proc/self/fd/{fd}"))
        {
            var length = readlink(link, target, 4096);
            return length is > 0 and < 4096 ? RawPaths.FromBytes(new ReadOnlySpan<byte>(target, (int)length)) : $"fd {fd}";
        }
    }

    /// <summary>The absolute path an open descriptor refers to, or null where /proc cannot say (deleted, anonymous, no /proc).</summary>
    public static string? ReachedPath(int fd) => PathOf(fd) is var path && path.StartsWith('/') ? path : null;

    /// <summary>The file's generation number (FS_IOC_GETVERSION), or 0 where its file system keeps none (tmpfs, XFS).</summary>
    public static ulong Generation(int fd)
    {
        const nuint GetVersion = 0x80087601; // _IOR('v', 1, long); the kernel writes an int
        long generation = 0;
        if (ioctl(fd, GetVersion, &generation) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return NoSuchIoctl(errno) ? 0UL : throw Error(errno, "reading the file's generation");
        }
        return (uint)generation;
    }

    /// <summary>
    /// Why the file's data may not be released or its markers written even by root: its file system
    /// is mounted read-only (fstatvfs), or its inode flags (FS_IOC_GETFLAGS) make it immutable
    /// (<c>chattr +i</c>) or append-only (<c>chattr +a</c>); null when none of these holds, or where
    /// the file system keeps no such flags.
    /// </summary>
    public static string? UnchangeableBecause(int fd)
    {
        // struct statvfs is eight-byte fields on 64-bit Linux (glibc and musl alike); f_flag is the tenth.
        const int FlagOffset = 72;
        const ulong ReadOnly = 1; // ST_RDONLY
        var fileSystem = stackalloc byte[256];
        Check(fstatvfs(fd, fileSystem), "reading the file system's mount flags");
        if ((*(ulong*)(fileSystem + FlagOffset) & ReadOnly) != 0)
        {
            return "the file system is mounted read-only";
        }

        const nuint GetFlags = 0x80086601; // _IOR('f', 1, long); the kernel writes an int
        const int Immutable = 0x10; // FS_IMMUTABLE_FL
        const int AppendOnly = 0x20; // FS_APPEND_FL
        long flags = 0;
        if (ioctl(fd, GetFlags, &flags) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return NoSuchIoctl(errno) ? null : throw Error(errno, "reading the file's inode flags");
        }
        return ((int)flags & Immutable) != 0 ? "the file is immutable (chattr +i)"
            : ((int)flags & AppendOnly) != 0 ? "the file is append-only (chattr +a)"
            : null;
    }

    /// <summary>The path with every symbolic link and "." or ".." resolved (realpath(3)), or null when it does not exist.</summary>
    public static string? RealPath(string path)
    {
        var resolved = stackalloc byte[4096];
        fixed (byte* pathBytes = Nul(path))
        {
            return realpath(pathBytes, resolved) == null ? null : RawPaths.FromBytes(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(resolved));
        }
    }

    /// <summary>Whether an ioctl failed because the file system does not answer it (ENOTTY, EINVAL, EOPNOTSUPP).</summary>
    private static bool NoSuchIoctl(int errno) => errno is 25 or 22 or ErrorNotSupported;

    /// <summary>The text as a C string (UTF-8, NUL-terminated), for the libc calls; a path's kept bytes (<see cref="RawPaths"/>) as themselves.</summary>
    internal static byte[] Nul(string text) => RawPaths.ToBytes(text, nulTerminated: true);

    private static void Check(int result, string what)
    {
        if (result != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), what);
        }
    }

    private static IOException Error(int errno, string what) =>
        new($"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int open(byte* path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fstatvfs(int fd, byte* buffer);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsetxattr(int fd, byte* name, byte* value, nuint size, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint fgetxattr(int fd, byte* name, byte* value, nuint size);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fremovexattr(int fd, byte* name);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint getxattr(byte* path, byte* name, byte* value, nuint size);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fallocate(int fd, int mode, long offset, long length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int statx(int directoryDescriptor, byte* path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int futimens(int fd, long* times);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc", SetLastError = true)]
    private static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, nuint request, long* argument);

    [LibraryImport("libc", SetLastError = true)]
    private static partial byte* realpath(byte* path, byte* resolved);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint readlink(byte* path, byte* buffer, nuint size);
}
