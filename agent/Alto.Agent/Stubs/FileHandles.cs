using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Stubs;

public static class FileHandles
{
    /// <summary>A handle to the same open file that does not close it: streams built over it may be disposed freely.</summary>
    public static SafeFileHandle Borrow(SafeFileHandle file) => new(file.DangerousGetHandle(), ownsHandle: false);
}
