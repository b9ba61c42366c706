using System.Runtime.Versioning;
using System.Text;
using System.Threading.Channels;
using Alto.Agent.Stubs;
using Alto.Scanning;
using Alto.Tiering.Native;

namespace Alto.Agent.Scanning;

/// <summary>How to walk; with <c>Digests</c> of a last scan, unchanged folders are named, not sent.</summary>
public sealed record WalkOptions(int Workers, bool CrossMounts, FolderDigests? Digests = null)
{
    /// <summary>Called with each folder's path just before it is opened (below the roots); where tests race the walk.</summary>
    public Action<string>? FolderOpening { get; init; }

    /// <summary>
    /// Why a root, by the path its open reached (links resolved by the system), may not be scanned,
    /// or null: a root checked before the scan and swapped for a link since is refused, not followed.
    /// </summary>
    public Func<string, string?>? RootRefusal { get; init; }
}

/// <summary>
/// Walks Linux directory trees with parallel workers (<see cref="FolderQueue"/>), one statx per
/// entry, and streams one <see cref="ScanRecord"/> per regular file. Symlinks are not followed;
/// unreadable, vanished and over-long entries are counted and skipped, never fatal.
/// </summary>
[SupportedOSPlatform("linux")]
// The name and attribute buffers on the stack are written before they are read: zeroing them took
// 1.3 KB of memset a file (about 2 % of a million-file scan's samples).
[System.Runtime.CompilerServices.SkipLocalsInit]
public sealed class TreeWalker(WalkOptions options, ScanCounters counters) : ITreeWalker
{
    private static readonly byte[] StubAttribute = "trusted.alto.locator\0"u8.ToArray();
    private static readonly byte[] LegacyStubAttribute = "user.alto.locator\0"u8.ToArray();

    /// <summary>Walks every root, then completes <paramref name="output"/> (with the first fatal error, if any).</summary>
    public Task WalkAsync(IReadOnlyList<string> roots, ChannelWriter<ScanRecord[]> output, CancellationToken cancellationToken)
    {
        var folders = new List<WalkItem>(roots.Count);
        foreach (var root in roots)
        {
            var bytes = Encoding.UTF8.GetBytes(root.Length > 1 ? root.TrimEnd('/') : root);
            var nul = Nul(bytes);
            var directory = LinuxFileSystem.OpenDirectory(nul, out var errno);
            if (directory == 0)
            {
                throw new DirectoryNotFoundException($"cannot read the scan root '{root}' (errno {errno})");
            }
            if (options.RootRefusal is { } refusal && LinuxFiles.ReachedPath(LinuxFileSystem.DirectoryDescriptor(directory)) is var reached
                && reached != Encoding.UTF8.GetString(bytes) && (reached is null ? "the system could not say which folder the open reached" : refusal(reached)) is { } refused)
            {
                LinuxFileSystem.CloseDirectory(directory);
                throw new InvalidOperationException($"refused the scan: its root '{root}' reached {reached ?? "an unknown folder"} when opened: {refused}");
            }
            var device = LinuxFileSystem.TryStat(LinuxFileSystem.DirectoryDescriptor(directory), ".\0"u8, out var status, out _) ? status.Device : 0;
            LinuxFileSystem.CloseDirectory(directory);
            folders.Add(new WalkItem(bytes, device));
        }
        return FolderQueue.WalkAsync(folders, options.Workers, (item, enqueue, token) => ReadDirectoryAsync(item, enqueue, output, token), output, cancellationToken);
    }

    private async Task ReadDirectoryAsync(WalkItem item, Action<WalkItem> enqueue, ChannelWriter<ScanRecord[]> output, CancellationToken cancellationToken)
    {
        if (item.Listed is not null)
        {
            options.FolderOpening?.Invoke(Encoding.UTF8.GetString(item.Path));
        }
        var directory = LinuxFileSystem.OpenDirectory(Nul(item.Path), out var errno);
        if (directory == 0)
        {
            CountError(errno);
            return;
        }
        // The folder opened must be the one its parent listed: a folder swapped for a link since
        // (opening by path follows it) would take the agent, which runs as root, out of its volume.
        if (item.Listed is { } listed
            && (!LinuxFileSystem.TryStat(LinuxFileSystem.DirectoryDescriptor(directory), ".\0"u8, out var opened, out _)
                || (opened.Device, opened.Inode) != listed))
        {
            LinuxFileSystem.CloseDirectory(directory);
            counters.AddVanished();
            return;
        }
        counters.AddDirectory();
        try
        {
            var rows = new List<ScanRecord>(FolderRows.RowsPerWrite);
            var folder = new FolderRows(output, options.Digests);
            bool more;
            do
            {
                more = ReadSome(directory, item, rows, enqueue);
                foreach (var row in rows)
                {
                    await folder.AddAsync(row, cancellationToken);
                }
                rows.Clear();
            }
            while (more);
            await folder.EndAsync(cancellationToken);
        }
        finally
        {
            LinuxFileSystem.CloseDirectory(directory);
        }
    }

    /// <summary>Reads entries until <see cref="FolderRows.RowsPerWrite"/> rows are collected (true) or the directory ends (false).</summary>
    private bool ReadSome(nint directory, WalkItem item, List<ScanRecord> rows, Action<WalkItem> enqueue)
    {
        var descriptor = LinuxFileSystem.DirectoryDescriptor(directory);
        Span<byte> name = stackalloc byte[257];
        int errno;
        while (LinuxFileSystem.ReadEntry(directory, out var entryName, out var type, out _, out errno))
        {
            if (entryName.SequenceEqual("."u8) || entryName.SequenceEqual(".."u8))
            {
                continue;
            }
            if (type == LinuxFileSystem.TypeSymlink)
            {
                counters.AddSymlink();
                continue;
            }
            entryName.CopyTo(name);
            name[entryName.Length] = 0;
            var nulName = name[..(entryName.Length + 1)];

            // One statx per entry: directories need their device (mount points), files their metadata.
            if (!LinuxFileSystem.TryStat(descriptor, nulName, out var status, out var statError))
            {
                CountError(statError);
                continue;
            }
            if (LinuxFileSystem.IsDirectory(status.Mode))
            {
                // Stay on the volume's file system unless asked to cross mount points; a LucidLink
                // filespace's audit trail is the agent's input, never part of the inventory.
                if ((options.CrossMounts || status.Device == item.Device) && !entryName.SequenceEqual(".lucid_audit"u8))
                {
                    enqueue(new WalkItem(Child(item.Path, entryName), item.Device, (status.Device, status.Inode)));
                }
                continue;
            }
            if (!LinuxFileSystem.IsRegular(status.Mode))
            {
                continue;
            }
            if (ToRecord(Child(item.Path, entryName), status, descriptor, nulName) is { } row)
            {
                rows.Add(row);
                counters.AddFile(status.Size);
                if (rows.Count >= FolderRows.RowsPerWrite)
                {
                    return true;
                }
            }
        }
        if (errno != 0)
        {
            CountError(errno);
        }
        return false;
    }

    private ScanRecord? ToRecord(byte[] path, FileStatus status, int folder, ReadOnlySpan<byte> nulName)
    {
        var (text, kind) = PathEncoding.Encode(path);
        if (text.Length > ScanColumns.MaxPathLength)
        {
            counters.AddTooLong();
            return null;
        }
        return new ScanRecord(
            text,
            status.Size,
            status.ModifyTime,
            status.AccessTime,
            ScanValues.Extension(text),
            ScanValues.Permissions(status.Mode),
            OwnerNames.Of(status.Uid),
            Hash: null,
            status.BirthTime ?? status.ChangeTime,
            (long)status.Inode,
            IsStub(path, status, folder, nulName),
            kind,
            // 0, or past int's range, only from a file system that keeps no count (some say 0, some set every bit): one name.
            status.Links is >= 1 and <= int.MaxValue ? (int)status.Links : 1);
    }

    /// <summary>
    /// An Alto stub carries Alto's locator attribute (or version 1's), and only a stub does: recall takes it off
    /// once the data is back. (Its block count is no test: attributes that do not fit in the inode take a block.)
    /// </summary>
    private static bool IsStub(byte[] path, FileStatus status, int folder, ReadOnlySpan<byte> nulName) =>
        status.Size > 0 && HasLocator(path, folder, nulName);

    /// <summary>
    /// Whether the file carries either locator attribute: one listing of its attribute names (a
    /// path lookup and a system call per file; asking for each name took two, and was a quarter of
    /// a million-file scan's CPU), or the two questions when the list does not fit.
    /// </summary>
    private static bool HasLocator(byte[] path, int folder, ReadOnlySpan<byte> nulName)
    {
        Span<byte> names = stackalloc byte[1024];
        // A path past PATH_MAX cannot be asked about by path: only by name in its open folder.
        var byPath = path.Length < 4095;
        // Asked of the open folder by name where the kernel can (no walk down the whole path again), else by path.
        if (!LinuxFileSystem.TryAttributeNamesAt(folder, nulName, names, out var length, out var errno))
        {
            if (!byPath)
            {
                return false;
            }
            length = LinuxFileSystem.AttributeNames(Nul(path), names, out errno);
        }
        if (length >= 0)
        {
            return Names(names[..length], StubAttribute) || Names(names[..length], LegacyStubAttribute);
        }
        return errno == LinuxFileSystem.ErrorRange && byPath
               && (LinuxFileSystem.HasAttribute(Nul(path), StubAttribute) || LinuxFileSystem.HasAttribute(Nul(path), LegacyStubAttribute));
    }

    /// <summary>Whether a NUL-separated list of names holds the NUL-terminated name.</summary>
    private static bool Names(ReadOnlySpan<byte> list, ReadOnlySpan<byte> nulTerminatedName)
    {
        while (list.Length > 0)
        {
            var end = list.IndexOf((byte)0);
            var entry = end < 0 ? list : list[..(end + 1)];
            if (entry.SequenceEqual(nulTerminatedName))
            {
                return true;
            }
            list = end < 0 ? [] : list[(end + 1)..];
        }
        return false;
    }

    private void CountError(int errno)
    {
        switch (errno)
        {
            case LinuxFileSystem.ErrorAccess:
                counters.AddPermissionDenied();
                break;
            case LinuxFileSystem.ErrorNoEntry:
                counters.AddVanished();
                break;
            case LinuxFileSystem.ErrorNameTooLong:
                counters.AddTooLong();
                break;
            default:
                counters.AddOtherError();
                break;
        }
    }

    private static byte[] Child(byte[] parent, ReadOnlySpan<byte> name)
    {
        var separator = parent.Length > 0 && parent[^1] == (byte)'/' ? 0 : 1;
        var child = new byte[parent.Length + separator + name.Length];
        parent.CopyTo(child, 0);
        if (separator == 1)
        {
            child[parent.Length] = (byte)'/';
        }
        name.CopyTo(child.AsSpan(parent.Length + separator));
        return child;
    }

    private static byte[] Nul(byte[] path)
    {
        var terminated = new byte[path.Length + 1];
        path.CopyTo(terminated, 0);
        return terminated;
    }

    /// <summary>A folder to read: its path, its root's file system, and (below a root) the file system and inode its parent listed it with.</summary>
    private readonly record struct WalkItem(byte[] Path, ulong Device, (ulong Device, ulong Inode)? Listed = null);
}
