using Alto.Agent.Connection;

namespace Alto.Agent.Tests.Scanning;

/// <summary>
/// The Windows agent's volume scope, on its portable part: Windows path rules (either slash, case
/// ignored, drive letters and UNC shares), "." and ".." refused, and links judged by where they
/// lead — the resolution (GetFinalPathNameByHandle on Windows) is a stand-in map here.
/// </summary>
public sealed class WindowsVolumeScopeTests
{
    private static readonly string[] Volumes = [@"D:\Data", @"\\fs01\projects"];

    /// <summary>A STAND-IN for GetFinalPathNameByHandle: these paths exist; a junction below D:\Data leads to C:\Windows.</summary>
    private static string? FinalPath(string path)
    {
        if (path.StartsWith(@"D:\Data\junction", StringComparison.OrdinalIgnoreCase))
        {
            return @"C:\Windows" + path[@"D:\Data\junction".Length..];
        }
        return path.StartsWith(@"D:\Data", StringComparison.OrdinalIgnoreCase) || path.StartsWith(@"\\fs01\projects", StringComparison.OrdinalIgnoreCase)
               || path.StartsWith(@"C:\", StringComparison.OrdinalIgnoreCase)
            ? path
            : null;
    }

    [Theory]
    [InlineData(@"D:\Data\docs\report.pdf")]
    [InlineData(@"d:/data/Docs/report.pdf")]
    [InlineData(@"D:\Data")]
    [InlineData(@"\\FS01\Projects\plans\site.dwg")]
    [InlineData(@"\\?\D:\Data\long\path.bin")]
    public void PathsBelowAVolumeAreTheClustersToTouch(string path) =>
        Assert.Null(WindowsVolumeScope.Refusal(path, Volumes, FinalPath));

    [Theory]
    [InlineData(@"D:\Data\..\Windows\system.ini", "'..'")]
    [InlineData(@"D:\DataExtra\file.txt", "not below any")]
    [InlineData(@"C:\Windows\system.ini", "not below any")]
    [InlineData(@"D:\Data\junction\system.ini", @"(it is C:\Windows\system.ini)")]
    [InlineData(@"relative\file.txt", "not an absolute Windows path")]
    [InlineData(@"\\fs01\other\file.txt", "does not exist")]
    public void OtherPathsAreRefusedWithTheReason(string path, string reason) =>
        Assert.Contains(reason, WindowsVolumeScope.Refusal(path, Volumes, FinalPath), StringComparison.Ordinal);

    [Fact]
    public void AHostWithoutVolumesTouchesNothing() =>
        Assert.Equal("this host has no registered volumes", WindowsVolumeScope.Refusal(@"D:\Data\a.txt", [], FinalPath));
}
