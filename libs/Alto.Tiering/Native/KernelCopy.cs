using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace Alto.Tiering.Native;

/// <summary>
/// Copies a whole file into another inside the kernel: <c>copy_file_range</c> where both are on
/// one file system (or on a network file system that copies on its server), <c>sendfile</c>
/// across file systems. The bytes never pass through the process: written from a user buffer
/// while other threads of the process ran, they cost a tiering job more CPU than all its hashing
/// on a shared two-core host (bench/RESULTS.md, 2026-12-04 19:30Z).
/// </summary>
[SupportedOSPlatform("linux")]
public static unsafe partial class KernelCopy
{
    private const int ErrorInterrupted = 4;
    private const int ErrorInvalid = 22;
    private const int ErrorCrossDevice = 18;
    private const int ErrorNoSystemCall = 38;
    private const int ErrorNotSupported = 95;

    /// <summary>
    /// At most this much a call: each call is progress its caller's watch sees (<see cref="FolderCallWatch"/>),
    /// and one call may take as long as this much takes at the slowest rate a share is allowed (2 minutes).
    /// A call costs nothing next to the 8 MiB it moves.
    /// </summary>
    private const nint Piece = 8 << 20;

    /// <summary>
    /// Copies <paramref name="source"/> from its start to its end into <paramref name="target"/>
    /// (fresh, at its start); returns the bytes copied, or null — nothing written — where the
    /// kernel can do neither call for this pair (the caller copies through memory then).
    /// </summary>
    /// <exception cref="IOException">A call failed part of the way (a full disk, an I/O error).</exception>
    internal static long? TryCopy(SafeFileHandle source, SafeFileHandle target, CallProgress progress)
    {
        // Held for the whole copy: a caller that gave up on it (a share that stopped answering) may close its
        // handles meanwhile, and a number closed and reused by another open would be copied from or into.
        var (sourceHeld, targetHeld) = (false, false);
        source.DangerousAddRef(ref sourceHeld);
        try
        {
            target.DangerousAddRef(ref targetHeld);
            return Copy((int)source.DangerousGetHandle(), (int)target.DangerousGetHandle(), progress);
        }
        finally
        {
            if (targetHeld)
            {
                target.DangerousRelease();
            }
            if (sourceHeld)
            {
                source.DangerousRelease();
            }
        }
    }

    private static long? Copy(int from, int to, CallProgress progress)
    {
        long inOffset = 0;
        long outOffset = 0;
        var bySendfile = false;
        while (true)
        {
            progress.Calling(Piece);
            var copied = bySendfile ? sendfile(to, from, &inOffset, Piece) : copy_file_range(from, &inOffset, to, &outOffset, Piece, 0);
            if (copied > 0)
            {
                progress.Add(copied);
                continue;
            }
            if (copied == 0 && inOffset == 0 && !bySendfile)
            {
                // Nothing at the first call: an empty file, or a file system that answers copy_file_range
                // with 0 instead of an error (as procfs does); sendfile says which.
                bySendfile = true;
                continue;
            }
            if (copied == 0)
            {
                return inOffset;
            }
            var errno = Marshal.GetLastPInvokeError();
            if (errno == ErrorInterrupted)
            {
                continue;
            }
            // Which calls work is known only by trying, and only before anything was written.
            var unsupported = errno is ErrorCrossDevice or ErrorNotSupported or ErrorNoSystemCall or ErrorInvalid;
            if (unsupported && inOffset == 0 && !bySendfile)
            {
                bySendfile = true;
                continue;
            }
            if (unsupported && inOffset == 0)
            {
                return null;
            }
            throw new IOException($"copying in the kernel failed after {inOffset} bytes: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint copy_file_range(int inDescriptor, long* inOffset, int outDescriptor, long* outOffset, nint length, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendfile(int outDescriptor, int inDescriptor, long* offset, nint count);
}
