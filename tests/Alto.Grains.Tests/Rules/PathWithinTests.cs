using Alto.Scanning;

namespace Alto.Grains.Tests.Rules;

/// <summary>Whether a path is below a volume: by whole segments, exactly on POSIX hosts, case- and slash-blind on Windows ones.</summary>
[Trait("Layer", "Unit")]
public sealed class PathWithinTests
{
    [Theory]
    [InlineData("/srv", "/srv", true)]
    [InlineData("/srv/a/b.txt", "/srv", true)]
    [InlineData("/srv/a/b.txt", "/srv/", true)]
    [InlineData("/srvx/b.txt", "/srv", false)] // a longer name is another folder
    [InlineData("/sr", "/srv", false)]
    [InlineData("/SRV/a", "/srv", false)] // POSIX names are bytes
    [InlineData("/etc/passwd", "/", true)]
    [InlineData("/home/me/x", "/srv", false)]
    public void PosixPathsAreWithinAFolderByWholeSegments(string path, string folder, bool within) =>
        Assert.Equal(within, PathFlavor.Posix.IsWithin(path, folder));

    [Theory]
    [InlineData(@"C:\Data\docs\report.pdf", @"C:\Data", true)]
    [InlineData(@"c:\data\DOCS\report.pdf", @"C:\Data\", true)]
    [InlineData(@"C:/Data/docs/report.pdf", @"C:\Data", true)]
    [InlineData(@"C:\Database\x.mdf", @"C:\Data", false)]
    [InlineData(@"D:\Data\x", @"C:\Data", false)]
    [InlineData(@"\\fs01\share\proj\a.dwg", @"\\FS01\Share", true)]
    [InlineData(@"\\fs01\shared\a.dwg", @"\\fs01\share", false)]
    public void WindowsPathsIgnoreCaseAndSlashDirection(string path, string folder, bool within) =>
        Assert.Equal(within, PathFlavor.Windows.IsWithin(path, folder));

    [Fact]
    public void APathIsWithinAnyOfSeveralFoldersOrNone()
    {
        Assert.True(PathFlavor.Posix.IsWithinAny("/data/x", ["/srv", "/data"]));
        Assert.False(PathFlavor.Posix.IsWithinAny("/data/x", []));
    }

    [Theory]
    [InlineData("/srv/./a//b", "/srv/a/b")]
    [InlineData("/srv/a/../../etc/shadow", "/etc/shadow")]
    [InlineData("/srv/..", "/")]
    [InlineData("/", "/")]
    [InlineData("/..", null)]
    [InlineData("/srv/../../etc", null)]
    [InlineData("/srv/a..b/..c", "/srv/a..b/..c")] // dots inside a name are the name's
    public void PosixPathsAreNormalizedAsTheHostReadsThemAndNeverClimbAboveTheRoot(string path, string? normalized) =>
        Assert.Equal(normalized, PathFlavor.Posix.Normalize(path));

    [Theory]
    [InlineData(@"C:\Data\.\docs\..\x.pdf", @"C:\Data\x.pdf")]
    [InlineData(@"C:/Data/../Windows", @"C:\Windows")]
    [InlineData(@"C:\Data\..", @"C:\")]
    [InlineData(@"C:\..", null)]
    [InlineData(@"\\fs01\share\a\..\b", @"\\fs01\share\b")]
    [InlineData(@"\\fs01\share\..\other", null)] // the share is the floor
    public void WindowsPathsKeepTheirDriveOrShareAsTheFloor(string path, string? normalized) =>
        Assert.Equal(normalized, PathFlavor.Windows.Normalize(path));
}
