using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Alto.Tiering.Native;

/// <summary>
/// How much of a file's cached data has not reached its device yet: pages dirty or under
/// write-back, from <c>cachestat(2)</c> (Linux 6.5 and later). A flush blocked in one system call
/// says nothing of its own progress; these counts falling is that progress. Reading them never
/// waits on the device, so a share that stopped answering cannot hang the one who asks.
/// </summary>
internal static partial class PageCacheState
{
    // cachestat's number: the same on every architecture (system calls added since Linux 5.1 share one numbering).
    private const long CachestatSyscall = 451;

    /// <summary>The file's pages that are dirty or being written back; null where the kernel cannot say (before 6.5, or not Linux).</summary>
    public static long? PendingPages(SafeFileHandle file)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        // A length of 0 is "to the end of the file".
        var range = new CacheRange { Offset = 0, Length = 0 };
        var success = false;
        try
        {
            file.DangerousAddRef(ref success);
            return cachestat(CachestatSyscall, (int)file.DangerousGetHandle(), ref range, out var counts, 0) == 0
                ? (long)(counts.Dirty + counts.WriteBack)
                : null;
        }
        finally
        {
            if (success)
            {
                file.DangerousRelease();
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CacheRange
    {
        public ulong Offset;
        public ulong Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CacheCounts
    {
        public ulong Cached;
        public ulong Dirty;
        public ulong WriteBack;
        public ulong Evicted;
        public ulong RecentlyEvicted;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long cachestat(long number, int descriptor, ref CacheRange range, out CacheCounts counts, uint flags);
}
