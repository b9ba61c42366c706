using Alto.Agent.LucidLink;
using Alto.Scanning;

namespace Alto.Agent.Tests.LucidLink;

/// <summary>
/// The inventory path of a trail entry: LucidLink's entryPath is '/'-separated on every client
/// (its leading '/' dropped by the reader); a Windows client's filespace root is a drive letter,
/// a folder or a UNC share, and the path comes out in the host's Windows flavour.
/// </summary>
public sealed class LucidInventoryPathTests
{
    [Theory]
    [InlineData(@"C:\LucidVolume", "Data/docs/report.pdf", @"C:\LucidVolume\Data\docs\report.pdf")]
    [InlineData(@"C:\LucidVolume\", "Data/docs/report.pdf", @"C:\LucidVolume\Data\docs\report.pdf")]
    [InlineData(@"L:\", "Data/docs/report.pdf", @"L:\Data\docs\report.pdf")]
    [InlineData(@"\\fs01\lucid", "a b/c.mov", @"\\fs01\lucid\a b\c.mov")]
    public void AWindowsClientsEntriesAreWindowsInventoryPaths(string root, string entry, string expected)
    {
        var path = LucidTrailUploader.InventoryPath(PathFlavor.Windows, root, entry);

        Assert.Equal(expected, path);
        // The stored form the gateway keeps for a Windows host is the same path.
        Assert.Equal(expected, PathFlavor.Windows.Canonical(path));
    }

    [Theory]
    [InlineData("/mnt/lucid", "Data/docs/report.pdf", "/mnt/lucid/Data/docs/report.pdf")]
    [InlineData("/mnt/lucid/", "x.bin", "/mnt/lucid/x.bin")]
    public void ALinuxClientsEntriesAreJoinedWithSlashes(string root, string entry, string expected) =>
        Assert.Equal(expected, LucidTrailUploader.InventoryPath(PathFlavor.Posix, root, entry));
}
