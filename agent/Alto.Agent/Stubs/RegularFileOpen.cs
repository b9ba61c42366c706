using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Stubs;

/// <summary>
/// Opens the regular file a path names the way a process running as root must when local users
/// can change the path under it. The path is resolved once into a descriptor that opens nothing
/// and follows no link at its last name (<see cref="PathOnlyHandle"/>); only a regular file whose
/// place the caller accepts is then opened, through that descriptor. An open of what a user put
/// there instead has effects of its own: a pipe's blocks until someone writes to it (a job that
/// never ends), a device's can start it (a watchdog, a tape) — and a link would lead the agent to
/// a file it was never given.
/// </summary>
[SupportedOSPlatform("linux")]
public static class RegularFileOpen
{
    /// <summary>
    /// The open file, or null with <paramref name="refused"/> saying why it was not opened: not a
    /// regular file, a link at the last name, or a place <paramref name="refusal"/> refuses (it
    /// judges where the path led, when that is not the path itself).
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing is at the path, or a folder on it is gone.</exception>
    /// <exception cref="IOException">The path could not be looked at.</exception>
    public static SafeFileHandle? Open(string path, FileAccess access, Func<string, string?>? refusal, out string? refused)
    {
        using var held = PathOnlyHandle.Open(path, out var errno)
            ?? throw (errno is PathOnlyHandle.ErrorNoEntry or PathOnlyHandle.ErrorNotDirectory
                ? new FileNotFoundException($"{path} is gone", path)
                : new IOException($"{path} could not be looked at: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})"));
        refused = held.Status.Type switch
        {
            FileTimes.TypeRegular => null,
            FileTimes.TypeLink => "a symbolic link is where the file was; the agent does not follow it",
            _ => "it is not a regular file (a pipe, socket, device or folder is where the file was)",
        };
        if (refused is null && refusal is not null)
        {
            refused = held.Reached is not { } reached ? "the system could not say which file the path reached"
                : reached != path && refusal(reached) is { } escaped ? $"the path reached {reached}: {escaped}"
                : null;
        }
        return refused is null ? File.OpenHandle(held.Self, FileMode.Open, access, FileShare.Read) : null;
    }
}
