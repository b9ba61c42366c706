using System.Diagnostics;

namespace Alto.TestSupport;

/// <summary>
/// A small ext4 file system of its own, loop-mounted (root only), for tests that put fanotify
/// filesystem marks on a volume: the marks then cover this file system and nothing else on the
/// machine. Unmounted and deleted when disposed.
/// </summary>
public sealed class ScratchFileSystem : IDisposable
{
    private readonly string _image;

    private ScratchFileSystem(string image, string root)
    {
        _image = image;
        Root = root;
    }

    public string Root { get; }

    /// <summary>
    /// Null (with the reason) where loop mounts are not possible: not root, or no loop devices.
    /// The image is made below <paramref name="imageParent"/> (the temporary folder by default; a
    /// tmpfs folder gives a disk as fast as memory).
    /// </summary>
    public static ScratchFileSystem? TryCreate(out string? whyNot, int megabytes = 256, string? imageParent = null)
    {
        var work = imageParent is null
            ? Directory.CreateTempSubdirectory("alto-scratch-fs-").FullName
            : Directory.CreateDirectory(Path.Combine(imageParent, "alto-scratch-fs-" + Guid.NewGuid().ToString("N"))).FullName;
        // Other users may pass through to the volume (not list the folder, nor read the image): the
        // per-user recall tests and bench open its files as users other than root.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(work, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
        var image = Path.Combine(work, "volume.img");
        var root = Path.Combine(work, "volume");
        Directory.CreateDirectory(root);
        using (var file = File.Create(image))
        {
            file.SetLength((long)megabytes << 20);
        }
        // Inode tables and journal written now, not by ext4's background thread after the mount: its
        // writes went on for seconds and came before a test's own on a slow share underneath.
        if (Run("mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", image) is { } mkfs)
        {
            whyNot = $"mkfs.ext4 failed: {mkfs}";
            Directory.Delete(work, true);
            return null;
        }
        if (Run("mount", "-o", "loop", image, root) is { } mount)
        {
            whyNot = $"a loop mount is not possible here: {mount}";
            Directory.Delete(work, true);
            return null;
        }
        whyNot = null;
        return new ScratchFileSystem(image, root);
    }

    /// <summary>
    /// Caps the size of one request to the loop device (the kernel's default is 1,280 KiB). A page
    /// is seen written only when its whole request is: on a slow share underneath, smaller requests
    /// show the pages going out as they go, as pages written to a network file system do.
    /// </summary>
    public void LimitRequestSize(int kibibytes)
    {
        var device = File.ReadLines("/proc/self/mountinfo").Select(line => line.Split(' '))
            .Where(fields => fields[4] == Root).Select(fields => fields[Array.IndexOf(fields, "-") + 2]).Last();
        File.WriteAllText($"/sys/block/{Path.GetFileName(device)}/queue/max_sectors_kb", kibibytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public void Dispose()
    {
        if (Run("umount", Root) is not null)
        {
            Run("umount", "-l", Root);
        }
        DeleteWithPatience(Path.GetDirectoryName(_image)!);
    }

    /// <summary>
    /// The loop device may let go of the image a moment after the unmount returns (at once after
    /// a lazy one). Unlinking a file still open on a FUSE share (a test's share holds the image
    /// then) leaves a hidden copy in its folder until it is closed, and the folder is not empty
    /// for that moment: tries again for a while rather than failing the test that used it.
    /// </summary>
    private static void DeleteWithPatience(string folder)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }

    /// <summary>Runs a command; null when it succeeded, else what it said.</summary>
    private static string? Run(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command, arguments) { RedirectStandardError = true, RedirectStandardOutput = true };
        try
        {
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null : error.Trim();
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            return exception.Message;
        }
    }
}
