using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Stubs;

public static class FileHandles
{
    /// <summary>A handle to the same open file that does not close it: streams built over it may be disposed freely.</summary>
    public static SafeFileHandle Borrow(SafeFileHandle file) => new(file.DangerousGetHandle(), ownsHandle: false);

    /// <summary>
    /// The path of the file an open reached, every link and junction resolved by the system itself;
    /// null where it cannot say. The agent runs privileged: a path it checked and then opened is
    /// judged again by this, since a local user may have swapped a folder for a link in between.
    /// </summary>
    public static string? ReachedPath(SafeFileHandle file) =>
        OperatingSystem.IsLinux() ? LinuxFiles.ReachedPath(LinuxFiles.Fd(file))
        : OperatingSystem.IsWindows() ? Scanning.Win32FileFacts.FinalPathOf(file)
        : null;
}
