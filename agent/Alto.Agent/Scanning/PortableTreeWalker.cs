using System.IO.Enumeration;
using System.Threading.Channels;
using Alto.Scanning;

namespace Alto.Agent.Scanning;

/// <summary>
/// The Windows scan on .NET's own directory enumeration, so all of it but
/// <see cref="IWindowsFileFacts"/> runs anywhere: paths in the Windows flavour under the root's
/// drive-letter or UNC name (long paths too), owners as <c>DOMAIN\user</c>, the file id (FRN), and
/// files with a stub's offline or recall attributes reported as stubs. Reparse points are never
/// followed: a junction, a mount point or a symbolic link to a folder is counted and skipped, and
/// so is a linked file (a reparse point without a stub's attributes). Folders are read in
/// parallel (<see cref="FolderQueue"/>); unreadable and vanished entries are counted, never fatal.
/// </summary>
public sealed class PortableTreeWalker(WalkOptions options, ScanCounters counters, IWindowsFileFacts facts) : ITreeWalker
{
    /// <summary>Reading-only, no attribute hidden: the walker decides what to skip (system and hidden files are files too).</summary>
    private static readonly EnumerationOptions OneFolder = new()
    {
        RecurseSubdirectories = false,
        AttributesToSkip = 0,
        IgnoreInaccessible = false,
        ReturnSpecialDirectories = false,
    };

    public Task WalkAsync(IReadOnlyList<string> roots, ChannelWriter<ScanRecord[]> output, CancellationToken cancellationToken)
    {
        var folders = new List<Folder>(roots.Count);
        foreach (var root in roots)
        {
            var local = Path.GetFullPath(root);
            if (!Directory.Exists(local))
            {
                throw new DirectoryNotFoundException($"cannot read the scan root '{root}'");
            }
            var name = PathFlavor.Windows.Canonical(facts.RootName(local))
                       ?? throw new DirectoryNotFoundException($"the scan root '{root}' has no Windows name (a drive letter or UNC path)");
            folders.Add(new Folder(local, name));
        }
        return FolderQueue.WalkAsync(folders, options.Workers, (folder, enqueue, token) => ReadFolderAsync(folder, enqueue, output, token), output, cancellationToken);
    }

    private async Task ReadFolderAsync(Folder folder, Action<Folder> enqueue, ChannelWriter<ScanRecord[]> output, CancellationToken cancellationToken)
    {
        using var entries = new CountingEnumerator(folder.Local, counters);
        var rows = new FolderRows(output, options.Digests);
        while (entries.MoveNext())
        {
            var entry = entries.Current;
            if (HasLoneSurrogate(entry.Name))
            {
                // A name that is not valid UTF-16 has no UTF-8 spelling the inventory could store.
                counters.AddOtherError();
                continue;
            }
            var local = Path.Join(folder.Local, entry.Name);
            var reported = folder.Reported.EndsWith('\\') ? folder.Reported + entry.Name : folder.Reported + "\\" + entry.Name;
            if (entry.IsDirectory)
            {
                if ((entry.Attributes & FileAttributes.ReparsePoint) != 0)
                {
                    counters.AddSymlink();
                }
                else
                {
                    enqueue(new Folder(local, reported));
                }
                continue;
            }
            if (ToRecord(entry, local, reported) is { } row)
            {
                counters.AddFile(entry.Length);
                await rows.AddAsync(row, cancellationToken);
            }
        }
        await rows.EndAsync(cancellationToken);
        if (entries.Opened)
        {
            counters.AddDirectory();
        }
    }

    private ScanRecord? ToRecord(Entry entry, string local, string reported)
    {
        if (reported.Length > ScanColumns.MaxPathLength)
        {
            counters.AddTooLong();
            return null;
        }
        WindowsFileFacts read;
        try
        {
            read = facts.Read(local, entry.Attributes);
        }
        catch (UnauthorizedAccessException)
        {
            counters.AddPermissionDenied();
            return null;
        }
        catch (FileNotFoundException)
        {
            counters.AddVanished();
            return null;
        }
        catch (IOException)
        {
            counters.AddOtherError();
            return null;
        }
        var isStub = WindowsStubAttributes.IsStub(read.Attributes);
        if ((read.Attributes & FileAttributes.ReparsePoint) != 0 && !isStub)
        {
            // A symbolic link to a file (or another product's reparse point): its target is not this volume's file.
            counters.AddSymlink();
            return null;
        }
        return new ScanRecord(
            reported,
            entry.Length,
            entry.Modified,
            entry.Accessed,
            ScanValues.Extension(entry.Name),
            Permissions(read.Attributes),
            read.Owner,
            Hash: null,
            entry.Created,
            read.FileId,
            isStub && entry.Length > 0,
            PathEncodingKind.Utf8,
            read.Links is >= 1 and <= int.MaxValue ? (int)read.Links : 1);
    }

    /// <summary>
    /// Windows grants access by ACL, not by mode bits: the column says what the read-only attribute
    /// allows everyone (<c>r--r--r--</c>), else <c>rw-r--r--</c> as the seed's Windows rows show.
    /// </summary>
    private static string Permissions(FileAttributes attributes) => (attributes & FileAttributes.ReadOnly) != 0 ? "r--r--r--" : "rw-r--r--";

    private static bool HasLoneSurrogate(string name)
    {
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsHighSurrogate(name[i]) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(name[i]))
            {
                return true;
            }
        }
        return false;
    }

    private readonly record struct Folder(string Local, string Reported);

    private readonly record struct Entry(
        string Name, bool IsDirectory, FileAttributes Attributes, long Length, DateTimeOffset Modified, DateTimeOffset Accessed, DateTimeOffset Created);

    /// <summary>One folder's entries; a folder or entry that cannot be read is counted (by its OS error) and skipped.</summary>
    private sealed class CountingEnumerator(string folder, ScanCounters counters) : FileSystemEnumerator<Entry>(folder, OneFolder)
    {
        private bool _listed;

        /// <summary>Whether the folder itself could be read (an error before any entry means it could not).</summary>
        public bool Opened { get; private set; } = true;

        protected override Entry TransformEntry(ref FileSystemEntry entry)
        {
            _listed = true;
            return new Entry(entry.FileName.ToString(), entry.IsDirectory, entry.Attributes, entry.Length,
                entry.LastWriteTimeUtc, entry.LastAccessTimeUtc, entry.CreationTimeUtc);
        }

        protected override bool ContinueOnError(int error)
        {
            Opened &= _listed;
            switch (error)
            {
                case 5 when OperatingSystem.IsWindows(): // ERROR_ACCESS_DENIED
                case 13 when !OperatingSystem.IsWindows(): // EACCES
                    counters.AddPermissionDenied();
                    break;
                case 2 or 3 when OperatingSystem.IsWindows(): // ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND
                case 2 when !OperatingSystem.IsWindows(): // ENOENT
                    counters.AddVanished();
                    break;
                case 206 when OperatingSystem.IsWindows(): // ERROR_FILENAME_EXCED_RANGE
                case 36 when !OperatingSystem.IsWindows(): // ENAMETOOLONG
                    counters.AddTooLong();
                    break;
                default:
                    counters.AddOtherError();
                    break;
            }
            return true;
        }
    }
}
