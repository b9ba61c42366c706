using Alto.Agent.Stubs;
using Alto.Scanning;

namespace Alto.Agent.Tests.Stubs;

/// <summary>A path's bytes survive the agent's strings whatever they are, and reach the cluster as the scan escaped them.</summary>
[Trait("Layer", "Unit")]
public sealed class RawPathsTests
{
    public static TheoryData<byte[]> Names()
    {
        var names = new TheoryData<byte[]>();
        names.Add("/srv/plain.txt"u8.ToArray());
        names.Add("/srv/caf\u00E9 \u6F22\u5B57 \U0001F600.txt"u8.ToArray());
        names.Add([.. "/srv/caf"u8, 0xE9, .. ".pdf"u8]);                 // Latin-1
        names.Add([.. "/srv/"u8, 0x82, 0xA0, .. ".bin"u8]);              // Shift-JIS
        names.Add([.. "/srv/"u8, 0xC3, .. "/x"u8, 0xA9]);                // a UTF-8 sequence cut in two
        names.Add([.. "/srv/"u8, 0xED, 0xB3, 0xA9, .. "\\x41"u8]);       // a surrogate encoded as UTF-8 (invalid), then a backslash
        names.Add([.. "/srv/"u8, 0xF0, 0x9F, 0x98]);                     // a four-byte sequence cut short at the end
        names.Add([.. "/srv/"u8, 0xFF, 0xFE, 0x80, 0xC0, 0xAF]);         // bytes that never start a sequence, and an overlong '/'
        return names;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryNameComesBackAsItsOwnBytes(byte[] name)
    {
        var path = RawPaths.FromBytes(name);

        Assert.Equal(name, RawPaths.ToBytes(path));
        Assert.Equal([.. name, 0], RawPaths.ToBytes(path, nulTerminated: true));
        Assert.Equal(!System.Text.Unicode.Utf8.IsValid(name), RawPaths.HasRawBytes(path));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void TheClusterSeesThePathAsTheScanReportedIt(byte[] name)
    {
        var path = RawPaths.FromBytes(name);
        var (scanned, kind) = PathEncoding.Encode(name);

        var (text, escaped) = RawPaths.ToWire(path);

        Assert.Equal(scanned, text);
        Assert.Equal(kind == PathEncodingKind.Escaped, escaped);
        // And a job's escaped path opens the very same bytes.
        Assert.Equal(name, RawPaths.ToBytes(escaped ? RawPaths.FromEscaped(text) : text));
    }

    [Fact]
    public void ACharacterOutsideTheBmpIsNotTakenForAKeptByte()
    {
        // U+10080 is the pair D800 DC80: alone, DC80 would be the kept byte 0x80; paired, it is half of a character.
        var path = "/srv/\U00010080";

        Assert.False(RawPaths.HasRawBytes(path));
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(path), RawPaths.ToBytes(path));
    }

    [Fact]
    public void APathForALogShowsEveryByte()
    {
        Assert.Equal("/srv/caf\\xE9.pdf", RawPaths.Display(RawPaths.FromBytes([.. "/srv/caf"u8, 0xE9, .. ".pdf"u8])));
        Assert.Equal("/srv/a\\b", RawPaths.Display("/srv/a\\b"));
    }

    /// <summary>The README's scan format, written out by hand: each byte outside UTF-8, and every backslash, as upper-case \xHH.</summary>
    [Fact]
    public void TheEscapedFormIsTheDocumentedOne()
    {
        var path = RawPaths.FromBytes([.. "/srv/r"u8, 0xE9, .. "sum\u00E9 a\\b/"u8, 0x82, 0xA0, .. ".txt"u8]);

        Assert.Equal(("/srv/r\\xE9sum\u00E9 a\\x5Cb/\\x82\\xA0.txt", true), RawPaths.ToWire(path));
        Assert.Equal(path, RawPaths.FromEscaped("/srv/r\\xE9sum\u00E9 a\\x5Cb/\\x82\\xA0.txt"));
    }

    [Fact]
    public void AnArgumentDotNetCouldNotDecodeIsTakenFromTheProcessesOwnBytes()
    {
        byte[] latin1 = [.. "/srv/caf"u8, 0xE9, .. ".pdf"u8];
        var asDotNetGivesIt = System.Text.Encoding.UTF8.GetString(latin1);
        Assert.Contains('\uFFFD', asDotNetGivesIt);
        List<byte[]> process = ["dotnet"u8.ToArray(), "/opt/alto/alto-agent.dll"u8.ToArray(), "recall"u8.ToArray(), latin1, "/srv/plain.pdf"u8.ToArray()];

        var restored = Cli.RawArguments.Restore(["recall", asDotNetGivesIt, "/srv/plain.pdf"], process);

        Assert.Equal(["recall", RawPaths.FromBytes(latin1), "/srv/plain.pdf"], restored);
        Assert.Equal(latin1, RawPaths.ToBytes(restored[1]));
    }

    [Fact]
    public void AnArgumentIsNotTakenFromBytesThatDoNotDecodeToIt()
    {
        // A U+FFFD typed as such is valid UTF-8, and a command line that does not line up is left as .NET read it.
        byte[] latin1 = [.. "/srv/caf"u8, 0xE9, .. ".pdf"u8];
        var typed = "/srv/caf\uFFFD.pdf";
        Assert.Equal([typed], Cli.RawArguments.Restore([typed], [System.Text.Encoding.UTF8.GetBytes(typed)]));
        Assert.Equal(["recall", typed], Cli.RawArguments.Restore(["recall", typed], ["recall"u8.ToArray(), "/srv/other"u8.ToArray()]));
        Assert.Equal(["recall", typed], Cli.RawArguments.Restore(["recall", typed], [latin1]));
    }

    [Fact]
    public void TheProcessesCommandLineIsSplitAtEachNul()
    {
        var split = Cli.RawArguments.Split([.. "a"u8, 0, .. "b"u8, 0, 0, 0xE9, 0]);

        Assert.Equal(["a"u8.ToArray(), "b"u8.ToArray(), [], [0xE9]], split);
        Assert.Equal(["a"u8.ToArray()], Cli.RawArguments.Split("a"u8));
    }
}
