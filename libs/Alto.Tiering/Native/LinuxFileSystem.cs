using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Alto.Tiering.Native;

/// <summary>
/// The libc calls the Linux scanner and the path store's listing need. .NET's own directory
/// enumeration decodes names as UTF-8 and replaces invalid bytes, which would lose names, and
/// stats each entry by its full path (a walk of every component, per file); these calls see the
/// raw bytes and take metadata from statx relative to the open directory, as find does.
/// </summary>
[SupportedOSPlatform("linux")]
public static unsafe partial class LinuxFileSystem
{
    public const byte TypeUnknown = 0;
    public const byte TypeDirectory = 4;
    public const byte TypeRegular = 8;
    public const byte TypeSymlink = 10;

    public const int ErrorRange = 34;

    public const int ErrorNoEntry = 2;
    public const int ErrorAccess = 13;
    public const int ErrorNameTooLong = 36;
    public const int ErrorNoData = 61;

    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;
    private const uint StatxBirthTime = 0x800;
    private const ushort FileTypeMask = 0xF000;
    private const ushort FileTypeDirectory = 0x4000;
    private const ushort FileTypeRegular = 0x8000;

    // glibc's struct dirent on 64-bit Linux: d_ino at 0, d_type at 18, d_name at 19.
    private const int DirentInodeOffset = 0;
    private const int DirentTypeOffset = 18;
    private const int DirentNameOffset = 19;

    public static nint OpenDirectory(ReadOnlySpan<byte> nulTerminatedPath, out int errno)
    {
        fixed (byte* path = nulTerminatedPath)
        {
            var directory = opendir(path);
            errno = directory == 0 ? Marshal.GetLastPInvokeError() : 0;
            return directory;
        }
    }

    public static void CloseDirectory(nint directory) => _ = closedir(directory);

    public static int DirectoryDescriptor(nint directory) => dirfd(directory);

    /// <summary>The next entry, or false at the end of the directory (or on an error, with errno).</summary>
    public static bool ReadEntry(nint directory, out ReadOnlySpan<byte> name, out byte type, out ulong inode, out int errno)
    {
        Marshal.SetLastPInvokeError(0);
        var entry = (byte*)readdir(directory);
        if (entry == null)
        {
            errno = Marshal.GetLastPInvokeError();
            name = default;
            type = 0;
            inode = 0;
            return false;
        }
        errno = 0;
        inode = *(ulong*)(entry + DirentInodeOffset);
        type = entry[DirentTypeOffset];
        name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(entry + DirentNameOffset);
        return true;
    }

    /// <summary>lstat-like metadata of <paramref name="nulTerminatedName"/> inside the open directory.</summary>
    public static bool TryStat(int directoryDescriptor, ReadOnlySpan<byte> nulTerminatedName, out FileStatus status, out int errno)
    {
        var buffer = stackalloc byte[256];
        int result;
        fixed (byte* name = nulTerminatedName)
        {
            result = statx(directoryDescriptor, name, AtSymlinkNoFollow, StatxBasicStats | StatxBirthTime, buffer);
        }
        if (result != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            status = default;
            return false;
        }
        errno = 0;
        var mask = *(uint*)buffer;
        var mode = *(ushort*)(buffer + 28);
        status = new FileStatus(
            Mode: mode,
            Links: *(uint*)(buffer + 16),
            Uid: *(uint*)(buffer + 20),
            Inode: *(ulong*)(buffer + 32),
            Size: *(long*)(buffer + 40),
            Blocks: *(long*)(buffer + 48),
            AccessTime: Timestamp(buffer + 64),
            BirthTime: (mask & StatxBirthTime) != 0 ? Timestamp(buffer + 80) : null,
            ChangeTime: Timestamp(buffer + 96),
            ModifyTime: Timestamp(buffer + 112),
            Device: ((ulong)*(uint*)(buffer + 136) << 32) | *(uint*)(buffer + 140));
        return true;
    }

    /// <summary>True when the file carries the named extended attribute (without following symlinks).</summary>
    public static bool HasAttribute(ReadOnlySpan<byte> nulTerminatedPath, ReadOnlySpan<byte> nulTerminatedAttribute)
    {
        fixed (byte* path = nulTerminatedPath)
        fixed (byte* attribute = nulTerminatedAttribute)
        {
            return lgetxattr(path, attribute, null, 0) >= 0;
        }
    }

    /// <summary>
    /// The names of an entry's extended attributes (not following a link), NUL-separated, in
    /// <paramref name="names"/>: their length, or -1 with the errno (ERANGE: the list is longer than
    /// the buffer). One system call however many names are asked about.
    /// </summary>
    public static int AttributeNames(ReadOnlySpan<byte> nulTerminatedPath, Span<byte> names, out int errno)
    {
        fixed (byte* path = nulTerminatedPath)
        fixed (byte* list = names)
        {
            var length = (int)llistxattr(path, list, (nuint)names.Length);
            errno = length < 0 ? Marshal.GetLastPInvokeError() : 0;
            return length;
        }
    }

    /// <summary>
    /// Like <see cref="AttributeNames(ReadOnlySpan{byte}, Span{byte}, out int)"/> for an entry of an
    /// open folder, by its name (listxattrat, Linux 6.13): the kernel looks up one name, not the
    /// whole path. False, and nothing asked, where the kernel is older: ask by path then.
    /// </summary>
    public static bool TryAttributeNamesAt(int directoryDescriptor, ReadOnlySpan<byte> nulTerminatedName, Span<byte> names, out int length, out int errno)
    {
        if (!s_listAttributesAt)
        {
            (length, errno) = (-1, 0);
            return false;
        }
        fixed (byte* name = nulTerminatedName)
        fixed (byte* list = names)
        {
            length = (int)syscall(SystemCallListAttributesAt, directoryDescriptor, (nint)name, SymlinkNoFollow, (nint)list, names.Length);
            errno = length < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        if (length < 0 && errno == ErrorNoSystemCall)
        {
            s_listAttributesAt = false;
            return false;
        }
        return true;
    }

    public static bool IsDirectory(ushort mode) => (mode & FileTypeMask) == FileTypeDirectory;

    public static bool IsRegular(ushort mode) => (mode & FileTypeMask) == FileTypeRegular;

    /// <summary>The earliest and the latest second a DateTimeOffset holds (years 0001 and 9999).</summary>
    private static readonly long FirstSecond = DateTimeOffset.MinValue.ToUnixTimeSeconds();
    private static readonly long LastSecond = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    /// <summary>
    /// A statx time. One beyond the years 0001-9999 (tmpfs, btrfs and XFS keep 64-bit seconds, and
    /// any local user may set them with touch) is read as the nearest bound: it stays the oldest or
    /// newest time there is for every rule, and never stops a scan.
    /// </summary>
    private static DateTimeOffset Timestamp(byte* field)
    {
        var seconds = *(long*)field;
        var nanoseconds = *(uint*)(field + 8);
        return seconds < FirstSecond ? DateTimeOffset.MinValue
            : seconds > LastSecond ? DateTimeOffset.MaxValue
            : DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(Math.Min(nanoseconds, 999_999_999u) / 100);
    }

    /// <summary>Flushes a folder's entries to disk (a rename into it, a new subfolder); fails with the errno.</summary>
    public static void FlushDirectory(string path) => WithDirectory(path, "flushed to disk", fsync);

    /// <summary>
    /// Flushes everything written to the file system <paramref name="path"/> is on (syncfs): data,
    /// names and folders, with one journal commit. Reports the write-back errors of the file system
    /// (Linux 5.8 and later) that no caller has seen yet.
    /// </summary>
    public static void FlushFileSystem(string path) => WithDirectory(path, "flushed with its file system", syncfs);

    private static void WithDirectory(string path, string what, Func<int, int> call)
    {
        var directory = OpenDirectory(System.Text.Encoding.UTF8.GetBytes(path + "\0"), out var errno);
        if (directory == 0)
        {
            throw new IOException($"the folder '{path}' could not be opened to be {what} (errno {errno})");
        }
        try
        {
            if (call(dirfd(directory)) != 0)
            {
                throw new IOException($"the folder '{path}' could not be {what} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = closedir(directory);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int descriptor);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int syncfs(int descriptor);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint opendir(byte* name);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint readdir(nint directory);

    [LibraryImport("libc")]
    private static partial int closedir(nint directory);

    [LibraryImport("libc")]
    private static partial int dirfd(nint directory);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int statx(int directoryDescriptor, byte* path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint lgetxattr(byte* path, byte* name, byte* value, nuint size);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint llistxattr(byte* path, byte* list, nuint size);

    /// <summary>listxattrat's number: one for every architecture, as for all system calls since 5.1.</summary>
    private const long SystemCallListAttributesAt = 465;

    private const int SymlinkNoFollow = 0x100;

    private const int ErrorNoSystemCall = 38;

    /// <summary>Whether this kernel has listxattrat; cleared at the first ENOSYS.</summary>
    private static volatile bool s_listAttributesAt = true;

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint syscall(long number, nint first, nint second, nint third, nint fourth, nint fifth);
}

/// <summary>The parts of statx the scanner and the path store use.</summary>
public readonly record struct FileStatus(
    ushort Mode, uint Links, uint Uid, ulong Inode, long Size, long Blocks,
    DateTimeOffset AccessTime, DateTimeOffset? BirthTime, DateTimeOffset ChangeTime, DateTimeOffset ModifyTime, ulong Device);
