using System.Runtime.Versioning;
using Alto.Agent.Stubs;

namespace Alto.Agent.Recall;

/// <summary>Whether opens of stubs below a volume are recalled (its file system is marked), and why not when they are not.</summary>
public sealed record VolumeRecall(string Path, bool Armed, string? Reason);

/// <summary>
/// The fanotify pre-content group of transparent recall (DESIGN.md §4): a filesystem mark for
/// <c>FAN_OPEN_PERM | FAN_PRE_ACCESS</c> on each volume's file system. The group is one kernel
/// object however many processes hold its descriptor (the agent, the recall guard), and it lives
/// as long as any of them does: that is what lets recall outlast an agent restart.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class RecallGroup : IDisposable
{
    public const ulong Events = Fanotify.OpenPermission | Fanotify.PreAccess;

    private RecallGroup(int descriptor) => Descriptor = descriptor;

    public int Descriptor { get; }

    /// <summary>A new group, or null with the reason (not root, or no fanotify in this kernel).</summary>
    public static RecallGroup? TryCreate(out string? whyNot)
    {
        var group = Fanotify.Init();
        if (group < 0)
        {
            var errno = Fanotify.LastError;
            whyNot = errno is 1
                ? "the agent is not running as root: fanotify pre-content groups need CAP_SYS_ADMIN"
                : $"this kernel has no fanotify pre-content groups (Linux 6.14 or later; errno {errno})";
            return null;
        }
        whyNot = null;
        return new RecallGroup(group);
    }

    /// <summary>A group whose descriptor came from the recall guard.</summary>
    public static RecallGroup Adopt(int descriptor) => new(descriptor);

    /// <summary>
    /// Marks the file system of <paramref name="volume"/>. Marking twice is harmless. The root file
    /// system is refused: every program's opens on it would wait on the agent (and on a stopped
    /// agent, on the guard), which is a machine-wide risk no tiering saves is worth; as with Azure
    /// File Sync and the system volume, data to tier belongs on a file system of its own.
    /// </summary>
    public VolumeRecall Arm(string volume)
    {
        FileTimes status;
        try
        {
            status = LinuxFiles.StatPath(volume);
        }
        catch (IOException exception)
        {
            return new VolumeRecall(volume, false, $"the volume cannot be read: {exception.Message}");
        }
        if (status.Device == LinuxFiles.StatPath("/").Device)
        {
            return new VolumeRecall(volume, false,
                "the volume is on the root file system: recall on open would stand between every program and every file there; put tiered data on a file system of its own");
        }
        if (Fanotify.MarkPath(Descriptor, Fanotify.MarkAdd | Fanotify.MarkFilesystem, Events, volume) != 0)
        {
            var errno = Fanotify.LastError;
            return new VolumeRecall(volume, false, errno == 22
                ? "this kernel or file system has no fanotify pre-content events (Linux 6.14 or later, on ext4, xfs or btrfs)"
                : $"the volume's file system could not be marked (errno {errno})");
        }
        return new VolumeRecall(volume, true, null);
    }

    /// <summary>
    /// Takes away the ignore mark an inode got when it was opened as an ordinary file, so that
    /// opens of it raise events again: called for every file the moment it becomes a stub.
    /// </summary>
    public void Watch(int fd)
    {
        if (Fanotify.MarkDescriptor(Descriptor, Fanotify.MarkRemove | Fanotify.MarkIgnore, Events, fd) != 0 && Fanotify.LastError != 2)
        {
            throw new IOException($"the recall mark of the new stub could not be set (errno {Fanotify.LastError})");
        }
    }

    /// <summary>Lets opens of an ordinary file pass without asking again (evictable: the kernel may drop it under memory pressure).</summary>
    public void Ignore(int fd) =>
        _ = Fanotify.MarkDescriptor(Descriptor, Fanotify.MarkAdd | Fanotify.MarkIgnore | Fanotify.MarkIgnoredSurviveModify | Fanotify.MarkEvictable, Events, fd);

    /// <summary>The top folder of the file system <paramref name="path"/> is on (its mount point), found without opening anything.</summary>
    public static string FileSystemRootOf(string path)
    {
        var current = new DirectoryInfo(LinuxFiles.TypeAt(path) == FileTimes.TypeDirectory ? path : Path.GetDirectoryName(Path.GetFullPath(path))!);
        var device = LinuxFiles.StatPath(current.FullName).Device;
        while (current.Parent is { } parent && LinuxFiles.StatPath(parent.FullName).Device == device)
        {
            current = parent;
        }
        return current.FullName;
    }

    /// <summary>Whether any file system is still marked (from the group's fdinfo; unmounted file systems lose their marks).</summary>
    public bool HasFilesystemMarks()
    {
        try
        {
            return File.ReadLines($"/proc/self/fdinfo/{Descriptor}").Any(line => line.StartsWith("fanotify sdev:", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return true;
        }
    }

    public void Dispose() => Fanotify.Close(Descriptor);
}
