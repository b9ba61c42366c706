using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// Sets and clears a file's inode flags as <c>chattr</c> does (FS_IOC_GETFLAGS / FS_IOC_SETFLAGS),
/// for tests of files that even root may not change; root only.
/// </summary>
[SupportedOSPlatform("linux")]
internal static partial class InodeFlags
{
    public const int Immutable = 0x10; // FS_IMMUTABLE_FL, chattr +i
    public const int AppendOnly = 0x20; // FS_APPEND_FL, chattr +a

    private const nuint GetFlags = 0x80086601;
    private const nuint SetFlags = 0x40086602;

    public static void Set(string path, int flag) => Change(path, flags => flags | flag);

    public static void Clear(string path, int flag) => Change(path, flags => flags & ~flag);

    private static unsafe void Change(string path, Func<int, int> change)
    {
        using SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var fd = (int)file.DangerousGetHandle();
        int flags = 0;
        if (ioctl(fd, GetFlags, &flags) != 0)
        {
            throw new IOException($"reading the inode flags of {path}: errno {Marshal.GetLastPInvokeError()}");
        }
        flags = change(flags);
        if (ioctl(fd, SetFlags, &flags) != 0)
        {
            throw new IOException($"setting the inode flags of {path}: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int ioctl(int fd, nuint request, int* argument);
}
