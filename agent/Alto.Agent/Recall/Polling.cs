using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Alto.Agent.Recall;

/// <summary>
/// poll(2) that waits its whole time. A signal handled by this process interrupts a poll with EINTR
/// whatever SA_RESTART says (signal(7)), and .NET handles signals here (a child's end, a console
/// change, a registered one): taken as "nothing came", an interrupted wait for the recall guard's
/// answer dropped a handover half read, the opens it carried were refused with EIO, and the guard
/// closed an agent's connection before its first word was read. A blocking send or receive may be
/// interrupted the same way (<see cref="UnixSockets"/> asks again).
/// </summary>
[SupportedOSPlatform("linux")]
internal static unsafe partial class Polling
{
    /// <summary>EINTR: a call interrupted by a signal handler before it did anything.</summary>
    public const int Interrupted = 4;

    /// <summary>
    /// Polls <paramref name="count"/> <c>struct pollfd</c> at <paramref name="fds"/> for up to
    /// <paramref name="milliseconds"/> (-1: no limit), asking again after an interruption for the
    /// time that is left; what poll(2) returns otherwise.
    /// </summary>
    public static int Poll(void* fds, nuint count, int milliseconds)
    {
        var started = Stopwatch.GetTimestamp();
        var left = milliseconds;
        while (true)
        {
            var ready = poll(fds, count, left);
            if (ready >= 0 || Marshal.GetLastPInvokeError() != Interrupted)
            {
                return ready;
            }
            if (milliseconds > 0)
            {
                left = Math.Max(0, milliseconds - (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(void* fds, nuint count, int timeout);
}
