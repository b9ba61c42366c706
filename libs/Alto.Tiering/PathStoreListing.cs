using System.Runtime.Versioning;
using System.Text;
using Alto.Tiering.Native;

namespace Alto.Tiering;

/// <summary>
/// A path store's objects below a folder in ordinal order of key: each folder's entries sorted
/// by key (a folder's as "name/", which is where its keys fall among its neighbours'), folders
/// entered in turn, and a folder all of whose keys sort at or before the cursor not entered.
/// On Linux the entries are read raw and each object is stat'ed relative to its open folder (what
/// find does); elsewhere through .NET's enumeration.
/// </summary>
internal static class PathStoreListing
{
    /// <summary>An entry of one folder: its key (a folder's ends in '/'), and for an object its length and time.</summary>
    private readonly record struct Entry(string Key, bool IsFolder, long Length, DateTimeOffset Modified);

    public static IEnumerable<StoredObject> List(string folder, string folderKey, string? startAfter, CancellationToken cancellationToken) =>
        OperatingSystem.IsLinux()
            ? Walk(folder, folderKey, startAfter, ReadLinuxFolder, cancellationToken)
            : Walk(folder, folderKey, startAfter, ReadFolder, cancellationToken);

    private static IEnumerable<StoredObject> Walk(
        string folder, string folderKey, string? startAfter, Func<string, string, string?, List<Entry>> read, CancellationToken cancellationToken)
    {
        var entries = read(folder, folderKey, startAfter);
        entries.Sort(static (left, right) => string.CompareOrdinal(left.Key, right.Key));
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (entry.IsFolder)
            {
                if (startAfter is null || string.CompareOrdinal(entry.Key, startAfter) > 0 || startAfter.StartsWith(entry.Key, StringComparison.Ordinal))
                {
                    var name = entry.Key.AsSpan(folderKey.Length, entry.Key.Length - folderKey.Length - 1);
                    foreach (var stored in Walk(Path.Join(folder, name), entry.Key, startAfter, read, cancellationToken))
                    {
                        yield return stored;
                    }
                }
            }
            else if (ObjectKeys.Sha256Of(entry.Key) is { } sha256)
            {
                yield return new StoredObject(entry.Key, sha256, entry.Length) { Modified = entry.Modified };
            }
        }
    }

    /// <summary>Whether an object's key is past the cursor and names content (only those are stat'ed).</summary>
    private static bool Wanted(string key, string? startAfter) =>
        (startAfter is null || string.CompareOrdinal(key, startAfter) > 0) && ObjectKeys.IsContentKey(key);

    private static List<Entry> ReadFolder(string folder, string folderKey, string? startAfter)
    {
        var entries = new List<Entry>();
        foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo)
            {
                entries.Add(new Entry(folderKey + entry.Name + "/", true, 0, default));
            }
            else if (entry is FileInfo file && folderKey + file.Name is var key && Wanted(key, startAfter))
            {
                entries.Add(new Entry(key, false, file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero)));
            }
        }
        return entries;
    }

    [SupportedOSPlatform("linux")]
    private static List<Entry> ReadLinuxFolder(string folder, string folderKey, string? startAfter)
    {
        var directory = LinuxFileSystem.OpenDirectory(Nul(folder), out var errno);
        if (directory == 0)
        {
            // A fan-out folder removed since its parent was read held nothing to list; anything else is the store failing.
            return errno == LinuxFileSystem.ErrorNoEntry && folderKey.Length > 0 ? [] : throw Failure(folder, errno);
        }
        try
        {
            var descriptor = LinuxFileSystem.DirectoryDescriptor(directory);
            var entries = new List<Entry>();
            // A name is at most 255 bytes; with its terminating NUL it goes to statx from here.
            var nulName = new byte[256];
            // The folder's key and an entry's name, made into the entry's key in place (no string per name besides the key).
            var keyChars = new char[folderKey.Length + 257];
            folderKey.CopyTo(keyChars);
            while (LinuxFileSystem.ReadEntry(directory, out var rawName, out var type, out _, out errno))
            {
                if (rawName is [(byte)'.'] or [(byte)'.', (byte)'.'] || !IsPlainName(rawName))
                {
                    // Keys are ASCII: a name that is not cannot be one of the store's folders or objects.
                    continue;
                }
                var nameLength = Encoding.ASCII.GetChars(rawName, keyChars.AsSpan(folderKey.Length));
                rawName.CopyTo(nulName);
                nulName[rawName.Length] = 0;
                FileStatus status = default;
                if (type == LinuxFileSystem.TypeUnknown && !Stat(descriptor, nulName, folder, out status))
                {
                    continue;
                }
                if (type == LinuxFileSystem.TypeDirectory || (type == LinuxFileSystem.TypeUnknown && LinuxFileSystem.IsDirectory(status.Mode)))
                {
                    keyChars[folderKey.Length + nameLength] = '/';
                    entries.Add(new Entry(new string(keyChars, 0, folderKey.Length + nameLength + 1), true, 0, default));
                    continue;
                }
                var key = new string(keyChars, 0, folderKey.Length + nameLength);
                if ((type == LinuxFileSystem.TypeRegular || type == LinuxFileSystem.TypeUnknown) && Wanted(key, startAfter)
                    && (status.Mode != 0 || Stat(descriptor, nulName, folder, out status))
                    && LinuxFileSystem.IsRegular(status.Mode))
                {
                    // An object deleted between the read and the stat is not listed.
                    entries.Add(new Entry(key, false, status.Size, status.ModifyTime));
                }
            }
            return errno == 0 ? entries : throw Failure(folder, errno);
        }
        finally
        {
            LinuxFileSystem.CloseDirectory(directory);
        }
    }

    /// <summary>
    /// An entry's metadata; false when it was deleted since the folder was read. Any other error
    /// fails the listing: an object that could not be stat'ed must not look absent (its stub would be marked LOST).
    /// </summary>
    [SupportedOSPlatform("linux")]
    private static bool Stat(int descriptor, byte[] nulName, string folder, out FileStatus status) =>
        LinuxFileSystem.TryStat(descriptor, nulName, out status, out var errno) || (errno == LinuxFileSystem.ErrorNoEntry ? false : throw Failure(folder, errno));

    private static bool IsPlainName(ReadOnlySpan<byte> name)
    {
        foreach (var b in name)
        {
            if (b is < 0x20 or >= 0x7f)
            {
                return false;
            }
        }
        return true;
    }

    private static byte[] Nul(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    private static Exception Failure(string folder, int errno) =>
        errno == LinuxFileSystem.ErrorAccess
            ? new UnauthorizedAccessException($"the store's folder {folder} cannot be read (permission denied)")
            : new IOException($"the store's folder {folder} cannot be read (errno {errno})");
}
