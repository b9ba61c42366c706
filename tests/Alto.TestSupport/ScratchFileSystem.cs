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
        var image = Path.Combine(work, "volume.img");
        var root = Path.Combine(work, "volume");
        Directory.CreateDirectory(root);
        using (var file = File.Create(image))
        {
            file.SetLength((long)megabytes << 20);
        }
        if (Run("mkfs.ext4", "-q", "-F", image) is { } mkfs)
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

    public void Dispose()
    {
        if (Run("umount", Root) is not null)
        {
            Run("umount", "-l", Root);
        }
        Directory.Delete(Path.GetDirectoryName(_image)!, recursive: true);
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
