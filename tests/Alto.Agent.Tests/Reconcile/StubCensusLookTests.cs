using System.Runtime.Versioning;
using Alto.Agent.Reconcile;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;

namespace Alto.Agent.Tests.Reconcile;

/// <summary>
/// What the census reports for a path, on real files with real extended attributes: a stub with
/// its markers, a plain file, nothing, a folder; and a link where a stub was is reported as such,
/// not followed to whatever stub it names — the agent runs as root, and a local user who can
/// replace a stub by a link must not have the census vouch for another file's markers.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class StubCensusLookTests : IDisposable
{
    private readonly string _volume = Directory.CreateTempSubdirectory("alto-census-").FullName;

    public void Dispose() => StubFiles.RemoveTree(_volume);

    [Fact]
    public void AStubIsReportedWithItsMarkersAndAPlainFileAsAFile()
    {
        var stub = WriteStub("kept.bin", "locator-kept");
        var plain = Path.Combine(_volume, "plain.bin");
        File.WriteAllText(plain, "plain");

        var found = StubCensus.Look(stub, [_volume]);
        Assert.Equal(("stub", "locator-kept"), (found.Found, found.Locator));
        Assert.Equal("file", StubCensus.Look(plain, [_volume]).Found);
        Assert.Equal("absent", StubCensus.Look(Path.Combine(_volume, "gone.bin"), [_volume]).Found);
        Assert.Equal("absent", StubCensus.Look(Path.Combine(_volume, "plain.bin", "below.bin"), [_volume]).Found);
        Directory.CreateDirectory(Path.Combine(_volume, "folder"));
        Assert.Contains("a folder", StubCensus.Look(Path.Combine(_volume, "folder"), [_volume]).Detail);
    }

    [Fact]
    public void AStubWhoseNameIsNotUtf8IsLookedUpByItsBytesAndAnsweredByTheEscapedTextItWasAskedBy()
    {
        // café.bin with é in Latin-1 (0xE9), as the inventory holds it: escaped, flagged.
        var raw = RawPaths.FromBytes([.. System.Text.Encoding.UTF8.GetBytes(_volume + "/caf"), 0xE9, .. ".bin"u8]);
        WriteStub(raw, "locator-latin1");
        var (escaped, isEscaped) = RawPaths.ToWire(raw);
        Assert.True(isEscaped);

        var found = StubCensus.LookEscaped(escaped, [_volume]);

        Assert.Equal(("stub", "locator-latin1", escaped, true), (found.Found, found.Locator, found.Path, found.PathEscaped));
        // Its escaped text taken as a name names no file: what a census asking by text alone would have reported.
        Assert.Equal("absent", StubCensus.Look(escaped, [_volume]).Found);
        Assert.Equal(("absent", true), (StubCensus.LookEscaped(_volume + "/gone\\xE9.bin", [_volume]) is var gone ? (gone.Found, gone.PathEscaped) : default));
        var malformed = StubCensus.LookEscaped(_volume + "/bad\\q.bin", [_volume]);
        Assert.Equal(("unreadable", _volume + "/bad\\q.bin"), (malformed.Found, malformed.Path));
        Assert.Contains("not a well-formed escaped path", malformed.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ALinkWhereAStubWasIsReportedAndNotFollowedToTheStubItNames()
    {
        WriteStub("other.bin", "locator-of-another-file");
        var swapped = Path.Combine(_volume, "swapped.bin");
        File.CreateSymbolicLink(swapped, Path.Combine(_volume, "other.bin"));

        var found = StubCensus.Look(swapped, [_volume]);

        Assert.Equal("unreadable", found.Found);
        Assert.Null(found.Locator);
        Assert.Contains("symbolic link", found.Detail);
    }

    [Fact]
    public void APathOutsideTheVolumesIsNotLookedAt()
    {
        var outside = Directory.CreateTempSubdirectory("alto-census-outside-").FullName;
        try
        {
            var stub = Path.Combine(outside, "elsewhere.bin");
            File.WriteAllText(stub, "x");
            var viaLinkedFolder = Path.Combine(_volume, "linked");
            Directory.CreateSymbolicLink(viaLinkedFolder, outside);

            foreach (var path in new[] { stub, Path.Combine(viaLinkedFolder, "elsewhere.bin") })
            {
                var found = StubCensus.Look(path, [_volume]);
                Assert.Equal("unreadable", found.Found);
                Assert.StartsWith("not looked at", found.Detail);
            }
        }
        finally
        {
            Directory.Delete(outside, true);
        }
    }

    /// <summary>A file with version-1 stub markers (<c>user.alto.*</c>, no binding), as the census reads them; <paramref name="name"/> may be a whole path.</summary>
    private string WriteStub(string name, string locator)
    {
        // Made and opened by its bytes: a name may not be UTF-8.
        var path = Path.Combine(_volume, name);
        StubFiles.WriteUnderRawName(path, 4);
        using var file = LinuxFiles.OpenByPath(path, FileAccess.ReadWrite);
        LinuxFiles.SetAttribute(file, StubInfo.LegacyName(StubInfo.LocatorAttribute), locator);
        LinuxFiles.SetAttribute(file, StubInfo.LegacyName(StubInfo.Sha256Attribute), new string('a', 64));
        LinuxFiles.SetAttribute(file, StubInfo.LegacyName(StubInfo.LengthAttribute), "4");
        LinuxFiles.SetAttribute(file, StubInfo.LegacyName(StubInfo.TargetAttribute), Guid.NewGuid().ToString());
        return path;
    }
}
