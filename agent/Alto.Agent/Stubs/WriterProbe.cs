using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Alto.Agent.Stubs;

/// <summary>
/// Tells whether any other open file (another program's descriptor, or a shared writable mapping
/// that outlived its descriptor) may write to a file, by asking for a read lease and giving it
/// back at once: Linux grants a read lease only while no one has the file open for writing.
/// A writer that was already there is the one thing that neither the change check nor the held
/// opens can see: a store through a mapped page that is already dirty changes no time, and
/// releasing the data would throw those bytes away.
/// </summary>
[SupportedOSPlatform("linux")]
public static partial class WriterProbe
{
    private const int SetLease = 1024; // F_SETLEASE
    private const int ReadLease = 0; // F_RDLCK
    private const int WriteLease = 1; // F_WRLCK
    private const int NoLease = 2; // F_UNLCK
    private const int SignalIo = 29; // SIGIO on x86-64 and arm64
    private const int TryAgain = 11; // EAGAIN: someone has the file open for writing

    /// <summary>
    /// A program that opens the file for writing in the moment the lease is held breaks it, and
    /// the kernel tells the lease's holder with SIGIO, whose default action ends the process. The
    /// agent keeps no lease beyond the probe and has no use for the signal, so it is ignored.
    /// </summary>
    static WriterProbe() => _ = signal(SignalIo, 1 /* SIG_IGN */);

    /// <summary>
    /// True when the file behind <paramref name="fd"/> is open for writing through any other
    /// descriptor or mapping; false when it is not; null where the file system or the machine
    /// grants no leases (fs.leases-enable = 0, a network file system), so nothing can be told.
    /// On a read-only <paramref name="fd"/> other readers do not count. A writable one would count
    /// as a writer itself, so the kernel is asked for a write lease instead, granted only while no
    /// other open of the file exists at all: then any other open counts, readers too.
    /// The recall listener's event descriptors are read-only, so another program's open being
    /// answered at that moment does not count either (a group made before they were, kept by the
    /// recall guard across an upgrade, holds writable ones: the listener closes the one of an open
    /// by the agent itself before the open returns, and a file another program opens just then is
    /// passed by and tried again later).
    /// </summary>
    public static bool? OthersMayWrite(int fd)
    {
        const int GetFlags = 3; // F_GETFL
        const int AccessMode = 3; // O_ACCMODE; O_RDONLY is 0
        var flags = fcntl(fd, GetFlags, 0);
        if (flags < 0)
        {
            return null;
        }
        if (fcntl(fd, SetLease, (flags & AccessMode) == 0 ? ReadLease : WriteLease) != 0)
        {
            return Marshal.GetLastPInvokeError() == TryAgain ? true : null;
        }
        _ = fcntl(fd, SetLease, NoLease);
        return false;
    }

    /// <summary>
    /// Whether the machine grants no leases (<paramref name="setting"/>, <c>fs.leases-enable</c>,
    /// reads 0), so <see cref="OthersMayWrite"/> can never tell: the agent says so at its start.
    /// </summary>
    public static bool LeasesTurnedOff(string setting = "/proc/sys/fs/leases-enable")
    {
        try
        {
            return File.ReadAllText(setting).Trim() == "0";
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc")]
    private static partial nint signal(int number, nint handler);
}
