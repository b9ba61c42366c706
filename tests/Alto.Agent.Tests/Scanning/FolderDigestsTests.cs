using Alto.Agent.Scanning;
using Alto.Scanning;

namespace Alto.Agent.Tests.Scanning;

/// <summary>
/// The folder digests an incremental scan decides by: every column the gateway compares changes a
/// row's digest, the order a folder is read in does not, and digests that cannot be trusted (of
/// another scan than the gateway's last, damaged, or old) make the next scan a full one.
/// </summary>
public sealed class FolderDigestsTests : IDisposable
{
    private static readonly DateTimeOffset Noon = new(2025, 1, 15, 12, 0, 0, TimeSpan.Zero);
    private static readonly ScanRecord Row = new("/srv/docs/a.txt", 10, Noon, Noon.AddDays(1), "txt", "rw-r--r--", "alice", null, Noon, 42, false, PathEncodingKind.Utf8);
    private readonly string _folder = Directory.CreateTempSubdirectory("alto-digests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<string, ScanRecord> OneColumnChanged => new()
    {
        { "name", Row with { FilePath = "/srv/docs/b.txt" } },
        { "size", Row with { FileSize = 11 } },
        { "modified", Row with { LastModified = Noon.AddSeconds(1) } },
        { "accessed", Row with { LastAccessed = Noon.AddDays(2) } },
        { "ctime", Row with { Ctime = null } },
        { "permissions", Row with { Permissions = "rw-------" } },
        { "owner", Row with { Owner = "bob" } },
        { "hash", Row with { Hash = "ab" } },
        { "file id", Row with { FileId = 43 } },
        { "stub", Row with { IsStub = true } },
        { "encoding", Row with { PathEncoding = PathEncodingKind.Escaped } },
        { "extension", Row with { FileExtension = "md" } },
    };

    [Theory]
    [MemberData(nameof(OneColumnChanged))]
    public void EveryColumnTheGatewayComparesChangesARowsDigest(string column, ScanRecord changed) =>
        Assert.True(FolderDigests.OfRow(Row) != FolderDigests.OfRow(changed), column);

    [Fact]
    public void AFolderDigestDoesNotDependOnTheOrderItsFilesWereRead()
    {
        var other = Row with { FilePath = "/srv/docs/b.txt", FileSize = 99 };
        Assert.Equal(FolderDigests.OfRow(Row) + FolderDigests.OfRow(other), FolderDigests.OfRow(other) + FolderDigests.OfRow(Row));
        // Two texts that join to the same characters are still told apart.
        Assert.NotEqual(FolderDigests.OfRow(Row with { Permissions = "ab", Owner = "c" }), FolderDigests.OfRow(Row with { Permissions = "a", Owner = "bc" }));
    }

    [Fact]
    public async Task DigestsContinueOnlyTheGatewaysLastIngestedScan()
    {
        var first = Guid.NewGuid();
        var file = SavedDigests(first);

        var next = await FolderDigests.ForScanAsync(file, full: false, PathFlavor.Posix, () => Task.FromResult<Guid?>(first));
        Assert.Equal(first, next.BaseScanId);
        Assert.True(next.IsUnchanged("/srv/docs", 7));
        Assert.False(next.IsUnchanged("/srv/docs", 8));
        Assert.False(next.IsUnchanged("/srv/other", 7));

        // Another scan was ingested since, a full scan is asked for, or the digests are a week old: everything is sent.
        Assert.Null((await FolderDigests.ForScanAsync(file, full: false, PathFlavor.Posix, () => Task.FromResult<Guid?>(Guid.NewGuid()))).BaseScanId);
        Assert.Null((await FolderDigests.ForScanAsync(file, full: false, PathFlavor.Posix, () => Task.FromResult<Guid?>(null))).BaseScanId);
        Assert.Null((await FolderDigests.ForScanAsync(file, full: true, PathFlavor.Posix, () => Task.FromResult<Guid?>(first))).BaseScanId);
        // An incremental scan carries the time of the full scan its chain started from: a week of them ends in a full one.
        var stored = FolderDigests.Load(file)!;
        var second = Guid.NewGuid();
        Assert.Equal(stored.FullScanAt, next.After(second, ["/srv"]).FullScanAt);
        FolderDigests.Save(file, next.After(second, ["/srv"]) with { FullScanAt = DateTimeOffset.UtcNow - FolderDigests.FullScanEvery - TimeSpan.FromHours(1) });
        Assert.Null((await FolderDigests.ForScanAsync(file, full: false, PathFlavor.Posix, () => Task.FromResult<Guid?>(second))).BaseScanId);
        Assert.False(FolderDigests.Full(PathFlavor.Posix).IsUnchanged("/srv/docs", 7));
    }

    [Fact]
    public async Task DamagedDigestsAreNotTrusted()
    {
        var scan = Guid.NewGuid();
        var file = SavedDigests(scan);
        var bytes = await File.ReadAllBytesAsync(file);
        await File.WriteAllBytesAsync(file, bytes[..^5]);

        Assert.Null(FolderDigests.Load(file));
        Assert.Null((await FolderDigests.ForScanAsync(file, full: false, PathFlavor.Posix, () => Task.FromResult<Guid?>(scan))).BaseScanId);
        await File.WriteAllTextAsync(file, "not digests at all");
        Assert.Null(FolderDigests.Load(file));

        // A folder count damaged into billions (it follows the header: the magic string, the scan id and the time of the full scan).
        var countAt = 1 + "alto-folder-digests-v3".Length + 16 + 8;
        foreach (var count in new[] { int.MaxValue, 1 << 30, -1 })
        {
            var damaged = bytes.ToArray();
            BitConverter.TryWriteBytes(damaged.AsSpan(countAt, 4), count);
            await File.WriteAllBytesAsync(file, damaged);
            Assert.Null(FolderDigests.Load(file));
        }
    }

    /// <summary>The digests a full scan of /srv leaves (its one folder /srv/docs, digest 7), saved.</summary>
    private string SavedDigests(Guid scanId)
    {
        var file = Path.Combine(_folder, FolderDigests.FileName);
        var full = FolderDigests.Full(PathFlavor.Posix);
        full.Record("/srv/docs", 7, unchanged: false);
        FolderDigests.Save(file, full.After(scanId, ["/srv"]));
        return file;
    }

    [Fact]
    public void AScanOfSomeRootsKeepsTheDigestsOfFoldersElsewhere()
    {
        var first = FolderDigests.Full(PathFlavor.Posix);
        first.Record("/srv/a", 1, unchanged: false);
        first.Record("/srv/b/x", 2, unchanged: false);
        first.Record("/data/c", 3, unchanged: false);
        var stored = first.After(Guid.NewGuid(), ["/srv", "/data"]);

        // A scan of /srv alone: /srv/b/x is gone, /srv/a changed, /data is not this scan's to judge.
        var second = FolderDigests.Continuing(stored, stored.ScanId, PathFlavor.Posix);
        second.Record("/srv/a", 4, unchanged: false);
        var after = second.After(Guid.NewGuid(), ["/srv"]);

        Assert.Equal(new Dictionary<string, UInt128> { ["/srv/a"] = 4, ["/data/c"] = 3 }, after.Folders);
    }
}
