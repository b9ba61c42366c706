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
    /// <remarks>
    /// With <paramref name="waitOnLeases"/> false, a file another program holds a lease on that the
    /// open would break is not waited for (<see cref="LinuxFiles.OpenWithoutWaiting"/>): tiering,
    /// which can try the file again at a later plan, passes it by; a recall waits for its data.
    /// </remarks>
    /// <exception cref="FileInUseException">Another program holds a lease on the file (only with <paramref name="waitOnLeases"/> false).</exception>
    public static SafeFileHandle? Open(string path, FileAccess access, Func<string, string?>? refusal, out string? refused, bool waitOnLeases = true)
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
        return refused is not null ? null
            : waitOnLeases ? File.OpenHandle(held.Self, FileMode.Open, access, FileShare.Read)
            : LinuxFiles.OpenWithoutWaiting(held.Self, access);
    }
}
