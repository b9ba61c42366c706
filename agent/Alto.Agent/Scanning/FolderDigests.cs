using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using Alto.Scanning;

namespace Alto.Agent.Scanning;

/// <summary>
/// What an incremental scan knows of the last one: a digest per folder of its files (names,
/// sizes, times, owner, permissions, file id, stub or not, link count) as that scan sent them, and the scan's
/// id. A folder whose digest is the same now is not sent again: the gateway is told it is
/// unchanged and keeps its rows as they are. A folder that is new, changed, emptied or gone is
/// sent in full (or not named at all), so deletions and moves are seen as in a full scan.
/// </summary>
public sealed class FolderDigests
{
    /// <summary>A folder with more files than this is always sent: its rows are not held back to wait for its digest.</summary>
    public const int MostRowsHeld = 20_000;

    // v3: rows' digests take in the link count; a v2 file is not read, so the first scan after the upgrade is a full one.
    private const string Magic = "alto-folder-digests-v3";

    private readonly IReadOnlyDictionary<string, UInt128> _previous;
    private readonly ConcurrentDictionary<string, UInt128> _current = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _unchanged = new();

    /// <summary>When the full scan this chain of incremental scans started from was made; null: this scan is that full scan.</summary>
    private readonly DateTimeOffset? _fullScanAt;

    private FolderDigests(Guid? baseScanId, IReadOnlyDictionary<string, UInt128> previous, PathFlavor flavor, DateTimeOffset? fullScanAt)
    {
        BaseScanId = baseScanId;
        _previous = previous;
        Flavor = flavor;
        _fullScanAt = fullScanAt;
    }

    /// <summary>The scan the previous digests are of; null for a full scan (every folder is sent).</summary>
    public Guid? BaseScanId { get; }

    public PathFlavor Flavor { get; }

    /// <summary>Folders found unchanged since the base scan, in no particular order.</summary>
    public IReadOnlyCollection<string> Unchanged => _unchanged;

    /// <summary>Where the service and <c>alto-agent scan</c> keep the digests, in the agent's state folder.</summary>
    public const string FileName = "scan-digests.bin";

    /// <summary>A full scan at least this often, however many incremental ones came between: it catches what no digest could (a clock set back, say).</summary>
    public static readonly TimeSpan FullScanEvery = TimeSpan.FromDays(7);

    /// <summary>
    /// The digests to scan with: incremental when <paramref name="file"/> holds digests of the
    /// scan <paramref name="lastIngested"/> names (the gateway's last ingested scan of this host)
    /// and they are recent; full when asked for or otherwise.
    /// </summary>
    public static async Task<FolderDigests> ForScanAsync(string file, bool full, PathFlavor flavor, Func<Task<Guid?>> lastIngested)
    {
        if (full || Load(file) is not { } stored || DateTimeOffset.UtcNow - stored.FullScanAt > FullScanEvery)
        {
            return Full(flavor);
        }
        return Continuing(stored, await lastIngested(), flavor);
    }

    /// <summary>The path flavour of this host's scans.</summary>
    public static PathFlavor ThisHost => OperatingSystem.IsWindows() ? PathFlavor.Windows : PathFlavor.Posix;

    /// <summary>A full scan that records digests for the next one.</summary>
    public static FolderDigests Full(PathFlavor flavor) => new(null, new Dictionary<string, UInt128>(), flavor, fullScanAt: null);

    /// <summary>
    /// The scan after the one whose digests <paramref name="stored"/> holds, if the gateway's last
    /// ingested scan of this host is that one (<paramref name="lastIngested"/>); a full scan otherwise.
    /// </summary>
    public static FolderDigests Continuing(StoredDigests? stored, Guid? lastIngested, PathFlavor flavor) =>
        stored is not null && lastIngested is { } last && stored.ScanId == last
            ? new FolderDigests(stored.ScanId, stored.Folders, flavor, stored.FullScanAt)
            : Full(flavor);

    /// <summary>Whether a folder's rows, with this digest, may be left out (and the folder named unchanged instead).</summary>
    public bool IsUnchanged(string folder, UInt128 digest) =>
        BaseScanId is not null && _previous.TryGetValue(folder, out var before) && before == digest;

    /// <summary>Notes a folder as the scan found it; an unchanged one is named to the gateway.</summary>
    public void Record(string folder, UInt128 digest, bool unchanged)
    {
        _current[folder] = digest;
        if (unchanged)
        {
            _unchanged.Enqueue(folder);
        }
    }

    /// <summary>
    /// The digests to keep after scan <paramref name="scanId"/> of <paramref name="roots"/>: this
    /// scan's for every folder below its roots, the previous ones for folders elsewhere.
    /// </summary>
    public StoredDigests After(Guid scanId, IReadOnlyList<string> roots)
    {
        var folders = new Dictionary<string, UInt128>(_current, StringComparer.Ordinal);
        foreach (var (folder, digest) in _previous)
        {
            if (!Flavor.IsWithinAny(folder, roots))
            {
                folders.TryAdd(folder, digest);
            }
        }
        return new StoredDigests(scanId, folders, _fullScanAt ?? DateTimeOffset.UtcNow);
    }

    /// <summary>The digests last saved, or null when there are none or they cannot be read (the next scan is then full).</summary>
    public static StoredDigests? Load(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            if (reader.ReadString() != Magic)
            {
                return null;
            }
            var scanId = new Guid(reader.ReadBytes(16));
            var fullScanAt = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
            var count = reader.ReadInt32();
            if (count < 0)
            {
                return null;
            }
            // Not sized from the count alone: a damaged one (billions) would ask for memory before the short read below says it is damaged.
            var folders = new Dictionary<string, UInt128>(Math.Min(count, 1 << 16), StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var folder = reader.ReadString();
                folders[folder] = new UInt128(reader.ReadUInt64(), reader.ReadUInt64());
            }
            return folders.Count == count ? new StoredDigests(scanId, folders, fullScanAt) : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Saves the digests whole or not at all (written aside, then renamed over the old file), readable by the agent only.</summary>
    public static void Save(string file, StoredDigests digests)
    {
        var staging = file + ".new";
        using (var stream = Tiering.PrivateFiles.Open(staging, FileMode.Create))
        using (var writer = new BinaryWriter(stream, Encoding.UTF8))
        {
            writer.Write(Magic);
            writer.Write(digests.ScanId.ToByteArray());
            writer.Write(digests.FullScanAt.UtcTicks);
            writer.Write(digests.Folders.Count);
            foreach (var (folder, digest) in digests.Folders)
            {
                writer.Write(folder);
                writer.Write((ulong)(digest >> 64));
                writer.Write((ulong)digest);
            }
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(staging, file, overwrite: true);
    }

    /// <summary>
    /// A row's part of its folder's digest: every column the gateway compares. The folder's
    /// digest is the sum of its rows' (in any order: a folder is read in whatever order the file
    /// system gives).
    /// </summary>
    public static UInt128 OfRow(ScanRecord row)
    {
        var hasher = new XxHash128();
        Span<long> numbers =
        [
            row.FileSize, row.LastModified.UtcTicks, row.LastAccessed.UtcTicks, row.Ctime?.UtcTicks ?? -1, row.FileId,
            row.IsStub ? 1 : 0, (long)row.PathEncoding, row.Links,
        ];
        hasher.Append(MemoryMarshal.AsBytes(numbers));
        foreach (var text in (ReadOnlySpan<string?>)[row.FilePath, row.Permissions, row.Owner, row.Hash, row.FileExtension])
        {
            // Each text with its length first: ("ab", "c") and ("a", "bc") must not read the same.
            var length = text?.Length ?? -1;
            hasher.Append(MemoryMarshal.AsBytes(new ReadOnlySpan<int>(ref length)));
            hasher.Append(MemoryMarshal.AsBytes(text.AsSpan()));
        }
        return hasher.GetCurrentHashAsUInt128();
    }
}

/// <summary>The folder digests of one scan, as saved between scans, and when the full scan their chain started from was made.</summary>
public sealed record StoredDigests(Guid ScanId, IReadOnlyDictionary<string, UInt128> Folders, DateTimeOffset FullScanAt);
