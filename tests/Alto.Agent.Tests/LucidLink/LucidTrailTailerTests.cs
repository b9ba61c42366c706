using System.Text;
using Alto.Agent.LucidLink;
using Alto.TestSupport;

namespace Alto.Agent.Tests.LucidLink;

/// <summary>The LucidLink audit trail as a filespace writes it: JSON Lines under .lucid_audit/&lt;node&gt;/&lt;yyyy&gt;/&lt;mm&gt;/, ".log.active" renamed to ".log" at rotation.</summary>
[Trait("Layer", "Unit")]
public sealed class LucidTrailTailerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("alto-lucid-").FullName;
    private readonly string _state;
    private readonly string _month;

    public LucidTrailTailerTests()
    {
        _state = Path.Combine(_root, "agent-state", "lucid-offsets.json");
        _month = Path.Combine(_root, LucidTrailTailer.AuditFolder, "node-7", "2026", "11");
        Directory.CreateDirectory(_month);
    }

    public void Dispose() => Directory.Delete(_root, true);

    /// <summary>
    /// A trail record as LucidLink documents it: timestamp in unix microseconds, the user, device and
    /// event members, and the operation with paths rooted at the filespace (a leading '/').
    /// </summary>
    public static string Line(string action, string entryPath, long timestamp = 1_764_300_000_000_000, string? targetPath = null) =>
        "{\"timestamp\":" + timestamp + ",\"user\":{\"name\":\"ann\",\"id\":\"u1\"},\"device\":{\"hostName\":\"mac-1\",\"osName\":\"macOS\",\"osVersion\":\"15\"},"
        + "\"event\":{\"filespace\":\"fs\",\"nodeId\":\"7\",\"filespaceUuid\":\"f-1\"},\"operation\":{\"action\":\"" + action + "\",\"entryPath\":\"/" + entryPath
        + "\",\"fileId\":\"42\"" + (targetPath is null ? "" : ",\"targetPath\":\"/" + targetPath + "\"") + "}}";

    private void Append(string name, string text) => File.AppendAllText(Path.Combine(_month, name), text);

    private LucidTrailTailer Tailer() => new(_root, _state);

    [Theory]
    [InlineData("FileRead", LucidAction.FileRead)]
    [InlineData("FileWritten", LucidAction.FileWritten)]
    [InlineData("FileDelete", LucidAction.FileDelete)]
    [InlineData("Pin", LucidAction.Other)]
    public void ALineGivesItsTimeActionAndPath(string action, LucidAction expected)
    {
        Assert.True(LucidTrailLine.TryParse(Encoding.UTF8.GetBytes(Line(action, "docs/q3 report.pdf", 1_764_300_000_123_456)), out var parsed));
        Assert.Equal(new LucidTrailEvent(1_764_300_000_123_456, expected, "docs/q3 report.pdf", null), parsed);
        Assert.True(LucidTrailLine.TryParse(Encoding.UTF8.GetBytes(Line("Move", "a/b.txt", targetPath: "c/b.txt")), out var moved));
        Assert.Equal("c/b.txt", moved.TargetPath);
    }

    /// <summary>A documented line damaged anywhere parses or is refused with a reason: the tailer never throws on what the trail holds.</summary>
    [Fact]
    public void ALineDamagedAnywhereParsesOrIsRefusedWithAReason()
    {
        var line = Encoding.UTF8.GetBytes(Line("Move", "Projects/video/cut.mov", targetPath: "Projects/video/final.mov"));
        var random = new Random(20261205);
        var refused = 0;
        for (var attempt = 0; attempt < 5_000; attempt++)
        {
            var (damaged, _) = ByteDamage.Apply(line, random, longestRun: 3);
            if (!LucidTrailLine.TryParse(damaged, out _, out var problem))
            {
                refused++;
                Assert.False(string.IsNullOrEmpty(problem));
            }
        }
        Assert.True(refused > 0);
    }

    [Fact]
    public void TheLastMicrosecondOfTheYear9999IsStillATime()
    {
        Assert.True(LucidTrailLine.TryParse(Encoding.UTF8.GetBytes(Line("FileRead", "a.txt", 253_402_300_799_999_999)), out var parsed));
        Assert.Equal(DateTimeOffset.MaxValue.ToUnixTimeMilliseconds(), DateTimeOffset.FromUnixTimeMilliseconds(parsed.TimestampMicros / 1000).ToUnixTimeMilliseconds());
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"timestamp\":\"yesterday\",\"operation\":{\"action\":\"FileRead\",\"entryPath\":\"a.txt\"}}")]
    [InlineData("{\"operation\":{\"action\":\"FileRead\",\"entryPath\":\"a.txt\"}}")]
    [InlineData("{\"timestamp\":5,\"operation\":{\"action\":\"FileRead\",\"entryPath\":\"/\"}}")]
    [InlineData("{\"timestamp\":5,\"operation\":{\"action\":\"FileRead\",\"entryPath\":\"//etc/passwd\"}}")]
    [InlineData("{\"timestamp\":5,\"operation\":{\"action\":\"FileRead\",\"entryPath\":\"/a/../../b\"}}")]
    [InlineData("{\"timestamp\":5,\"operation\":{\"action\":\"FileRead\",\"entryPath\":\"a/../../b\"}}")]
    [InlineData("{\"timestamp\":5,\"operation\":{\"action\":\"Move\",\"entryPath\":\"a.txt\"}}")]
    [InlineData("{\"timestamp\":5,\"operation\":{\"action\":\"FileRead\",\"entryPath\":\"a.txt\"}} trailing")]
    [InlineData("[1,2,3]")]
    // Year 11476: no time the inventory holds.
    [InlineData("{\"timestamp\":300000000000000000,\"operation\":{\"action\":\"FileRead\",\"entryPath\":\"a.txt\"}}")]
    public void AMalformedLineIsRefused(string line) => Assert.False(LucidTrailLine.TryParse(Encoding.UTF8.GetBytes(line), out _));

    [Fact]
    public void ARotationInTheMiddleOfReadingLosesAndRepeatsNothing()
    {
        Append("1764300000.log.active", Line("FileRead", "a.txt") + "\n" + Line("FileRead", "b.txt") + "\n");
        var tailer = Tailer();
        Assert.Equal(["a.txt", "b.txt"], tailer.ReadNew().Events.Select(e => e.EntryPath));
        tailer.Commit();

        Append("1764300000.log.active", Line("FileWritten", "c.txt") + "\n");
        File.Move(Path.Combine(_month, "1764300000.log.active"), Path.Combine(_month, "1764300000.log"));
        Append("1764300900.log.active", Line("FileDelete", "d.txt") + "\n");

        var after = tailer.ReadNew();
        Assert.Equal(["c.txt", "d.txt"], after.Events.Select(e => e.EntryPath));
        Assert.Equal(2, after.Files);
        tailer.Commit();
        Assert.Empty(tailer.ReadNew().Events);
    }

    [Fact]
    public void AHalfWrittenLastLineWaitsUntilItIsComplete()
    {
        var line = Line("FileRead", "long/path/file.bin");
        Append("1764300000.log.active", Line("FileRead", "first.txt") + "\n" + line[..40]);
        var tailer = Tailer();

        Assert.Equal(["first.txt"], tailer.ReadNew().Events.Select(e => e.EntryPath));
        tailer.Commit();
        Assert.Empty(tailer.ReadNew().Events);

        Append("1764300000.log.active", line[40..] + "\n");
        var completed = tailer.ReadNew();
        Assert.Equal(["long/path/file.bin"], completed.Events.Select(e => e.EntryPath));
        Assert.Equal(0, completed.Malformed);
    }

    [Fact]
    public void ARotatedLogsUnterminatedLastLineIsTakenWhenWhole()
    {
        Append("1764300000.log", Line("FileRead", "a.txt") + "\n" + Line("FileRead", "b.txt"));
        Assert.Equal(["a.txt", "b.txt"], Tailer().ReadNew().Events.Select(e => e.EntryPath));
    }

    [Fact]
    public void GarbageIsSkippedAndCountedAndDuplicatesAndReplaysAreDropped()
    {
        var read = Line("FileRead", "a.txt");
        Append("1764300000.log.active", read + "\n\ngarbage here\n{\"half\":\n" + read + "\n" + Line("FileRead", "a.txt", 1_764_300_000_000_001) + "\r\n");
        var tailer = Tailer();

        var first = tailer.ReadNew();
        Assert.Equal(2, first.Events.Count);
        Assert.Equal((2L, 1L), (first.Malformed, first.Duplicates));

        // Not committed (the upload failed): the same events come again, none dropped as repeats.
        Assert.Equal(2, tailer.ReadNew().Events.Count);
        tailer.Commit();
        Assert.Equal((2L, 1L, 2), (tailer.MalformedTotal, tailer.DuplicatesTotal, tailer.Quarantined));

        // The agent restarts: the offsets were kept, nothing is replayed, and the refused lines wait in the quarantine.
        var restarted = Tailer();
        Assert.Empty(restarted.ReadNew().Events);
        Assert.Equal(2, restarted.Quarantined);
    }

    /// <summary>
    /// The tailer's own state found damaged (an offsets file cut short, a quarantine line edited):
    /// said with the file and what to do, never guessed at — reading every audit file again would
    /// apply old deletes and moves twice, and reading from their ends would lose events not sent.
    /// </summary>
    [Fact]
    public async Task DamagedOffsetsOrQuarantineStopTheTrailNamingTheFileUntilPutRight()
    {
        Append("1764300000.log.active", Line("FileRead", "a.txt") + "\n");
        Directory.CreateDirectory(Path.GetDirectoryName(_state)!);
        await File.WriteAllTextAsync(_state, "{\"node-7/2026/11/1764300000.log.act");

        var damaged = Assert.Throws<InvalidDataException>(() => Tailer().ReadNew());
        Assert.StartsWith($"the audit trail's offsets file {_state} is damaged (", damaged.Message);
        Assert.Contains("moved aside to read every audit file again from its start", damaged.Message);

        File.Delete(_state);
        var quarantine = _state + ".quarantine.jsonl";
        await File.WriteAllTextAsync(quarantine, "{\"file\":\"node-7/2026/11/1764300000.log\",\"offs\n");
        var tailer = Tailer();
        Assert.StartsWith($"the audit trail's quarantine {quarantine} is damaged (", Assert.Throws<InvalidDataException>(() => tailer.ReadNew()).Message);

        File.Delete(quarantine);
        Assert.Equal(["a.txt"], tailer.ReadNew().Events.Select(e => e.EntryPath));
    }

    [Fact]
    public void EveryDocumentedOperationIsReadAndOnlyFileOperationsAreSent()
    {
        // The operations LucidLink's audit trail records: creation, deletion and moves of files and folders,
        // reads and writes, symbolic links, extended attributes set and deleted, pin and unpin.
        string[] others = ["FileCreate", "DirectoryCreate", "DirectoryDelete", "SymlinkCreate", "SetXattr", "RemoveXattr", "Pin", "Unpin"];
        Append("1764300000.log.active", string.Concat(others.Select(action => Line(action, "Projects/x") + "\n"))
            + Line("FileRead", "Projects/video/final-cut.mov") + "\n" + Line("FileWritten", "Projects/video/final-cut.mov", 1_764_300_000_000_001) + "\n"
            + Line("FileDelete", "Projects/old.mov") + "\n" + Line("Move", "Projects/a.mov", targetPath: "Archive/a.mov") + "\n");
        var tailer = Tailer();

        var read = tailer.ReadNew();

        Assert.Equal((0L, (long)others.Length), (read.Malformed, read.Ignored));
        Assert.Equal([(LucidAction.FileRead, "Projects/video/final-cut.mov", (string?)null), (LucidAction.FileWritten, "Projects/video/final-cut.mov", null),
            (LucidAction.FileDelete, "Projects/old.mov", null), (LucidAction.Move, "Projects/a.mov", "Archive/a.mov")],
            read.Events.Select(e => (e.Action, e.EntryPath, e.TargetPath)));
    }

    [Fact]
    public void RefusedLinesAreQuarantinedWithTheirReasonsAndAParserThatReadsThemNowSendsThem()
    {
        Append("1764300000.log.active", "not json\n{\"timestamp\":5,\"operation\":{\"action\":\"Move\",\"entryPath\":\"/a.txt\"}}\n");
        var tailer = Tailer();
        tailer.ReadNew();
        tailer.Commit();

        var quarantine = new LucidQuarantine(_state + ".quarantine.jsonl");
        Assert.Equal(2, quarantine.Count);
        Assert.Contains("not JSON", quarantine.Entries[0].Reason, StringComparison.Ordinal);
        Assert.Contains("targetPath", quarantine.Entries[1].Reason, StringComparison.Ordinal);
        Assert.Equal(("1764300000.log", 9L), (Path.GetFileName(quarantine.Entries[1].File), quarantine.Entries[1].Offset));

        // As if an older agent had refused a line this one reads (a documented leading-slash path): it is sent, then leaves.
        var older = QuarantinedLine.Of("node-7/2026/11/1764300000.log", 0, "entryPath is absolute", System.Text.Encoding.UTF8.GetBytes(Line("FileRead", "Projects/x.mov")));
        File.AppendAllText(_state + ".quarantine.jsonl", System.Text.Json.JsonSerializer.Serialize(older) + "\n");
        var upgraded = Tailer();
        var replay = upgraded.ReadNew();
        Assert.Equal((1, "Projects/x.mov"), (replay.Replayed, Assert.Single(replay.Events).EntryPath));
        upgraded.Commit();
        Assert.Equal(2, upgraded.Quarantined);
        Assert.Empty(Tailer().ReadNew().Events);
    }

    [Fact]
    public void EventsTheGatewayRefusedWaitForAnotherBuildOfTheAgent()
    {
        Append("1764300000.log.active", Line("FileRead", "a.txt") + "\n");
        var tailer = Tailer();
        var read = tailer.ReadNew();
        tailer.QuarantineRefused(read.Events, "the gateway refused the batch: 400");
        tailer.Commit();

        Assert.Equal(1, tailer.Quarantined);
        // The same build does not send them again and again.
        Assert.Equal(0, Tailer().ReadNew().Replayed);
        var entry = Assert.Single(new LucidQuarantine(_state + ".quarantine.jsonl").Entries);
        Assert.Equal(QuarantinedLine.AgentBuild, entry.RefusedForAgent);
        Assert.True(LucidTrailLine.TryParse(entry.Bytes(), out var back));
        Assert.Equal(read.Events[0], back);
    }

    [Fact]
    public void AFullQuarantineCountsWhatItCannotKeep()
    {
        var quarantine = new LucidQuarantine(Path.Combine(_root, "q.jsonl"), capacity: 3);
        quarantine.Commit([.. Enumerable.Range(0, 5).Select(i => QuarantinedLine.Of("f.log", i, "garbage", "x"u8))], 0);
        Assert.Equal((3, 2L), (quarantine.Count, quarantine.Overflow));
        Assert.Equal(3, new LucidQuarantine(Path.Combine(_root, "q.jsonl"), capacity: 3).Count);
    }

    [Fact]
    public void BatchesStopAtTheirSizeAndTheNextOneGoesOnFromThere()
    {
        Append("1764300000.log.active", string.Concat(Enumerable.Range(0, 5).Select(i => Line("FileRead", $"f{i}.txt") + "\n")));
        Append("1764300900.log.active", new string('x', LucidTrailTailer.MaxLineBytes + 10) + "\n" + Line("FileRead", "after-the-long-one.txt") + "\n");
        var tailer = Tailer();

        Assert.Equal(["f0.txt", "f1.txt", "f2.txt"], tailer.ReadNew(maxEvents: 3).Events.Select(e => e.EntryPath));
        tailer.Commit();
        var rest = tailer.ReadNew(maxEvents: 3);

        Assert.Equal(["f3.txt", "f4.txt", "after-the-long-one.txt"], rest.Events.Select(e => e.EntryPath));
        Assert.True(rest.Malformed >= 1);
    }

    [Fact]
    public void ALongTrailReadInBatchesGivesEveryEventOnceInItsOrder()
    {
        // 30,000 lines over two rotated files and the active one: batches of 1,000 are parsed side by side.
        var expected = new List<string>();
        var (garbage, repeats, others) = (0L, 0L, 0L);
        string? last = null;
        for (var file = 0; file < 3; file++)
        {
            var text = new StringBuilder();
            for (var i = 0; i < 10_000; i++)
            {
                var n = file * 10_000 + i;
                if (n % 7 == 3)
                {
                    text.Append("{\"not\": \"an event\"\n");
                    garbage++;
                }
                else if (n % 11 == 5 && last is not null)
                {
                    text.Append(last).Append('\n');
                    repeats++;
                }
                else if (n % 13 == 1)
                {
                    text.Append(Line("Pin", $"pinned/{n}.mov", 1_764_300_000_000_000 + n)).Append("\r\n\n");
                    others++;
                }
                else
                {
                    last = Line("FileRead", $"projects/p{n % 40}/f{n}.dat", 1_764_300_000_000_000 + n);
                    text.Append(last).Append('\n');
                    expected.Add($"projects/p{n % 40}/f{n}.dat");
                }
            }
            Append($"{1_764_300_000 + file * 900}.log" + (file == 2 ? ".active" : ""), text.ToString());
        }
        var tailer = Tailer();

        var events = new List<string>();
        var (malformed, duplicates, ignored) = (0L, 0L, 0L);
        while (tailer.ReadNew(maxEvents: 1_000) is { } read && (read.Events.Count > 0 || read.Ignored > 0 || read.Malformed > 0))
        {
            Assert.True(read.Events.Count <= 1_000);
            events.AddRange(read.Events.Select(e => e.EntryPath));
            (malformed, duplicates, ignored) = (malformed + read.Malformed, duplicates + read.Duplicates, ignored + read.Ignored);
            tailer.Commit();
        }

        Assert.Equal(expected, events);
        Assert.Equal((garbage, repeats, others), (malformed, duplicates, ignored));
        Assert.Equal((int)garbage, tailer.Quarantined);
    }

    /// <summary>
    /// Whoever may write in the audit folder may leave there what LucidLink never writes: a pipe
    /// named like a log (whose open would wait for a writer for ever, and the access times with it)
    /// and a link to a file the trail must not read. Both are passed over; the real log is read.
    /// </summary>
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task APipeOrALinkNamedLikeALogIsPassedOverUnopened()
    {
        Append("1764300000.log.active", Line("FileRead", "real.txt") + "\n");
        var pipe = Path.Combine(_month, "1764300001.log");
        Assert.Equal(0, (await Stubs.StubFiles.ShellAsync($"mkfifo '{pipe}'")).ExitCode);
        var elsewhere = Path.Combine(_root, "elsewhere.txt");
        await File.WriteAllTextAsync(elsewhere, Line("FileRead", "not-from-the-trail.txt") + "\n");
        File.CreateSymbolicLink(Path.Combine(_month, "1764300002.log"), elsewhere);

        var reading = Task.Run(() => Tailer().ReadNew());
        if (await Task.WhenAny(reading, Task.Delay(TimeSpan.FromSeconds(30))) != reading)
        {
            // The open waits in the kernel: a writer lets it go, so the test ends.
            await Stubs.StubFiles.ShellAsync($"echo > '{pipe}'");
            await reading;
            Assert.Fail("the tailer opened the pipe and waited for a writer");
        }
        Assert.Equal(["real.txt"], (await reading).Events.Select(e => e.EntryPath));
    }

    [Fact]
    public void NoAuditFolderIsNoEvents() =>
        Assert.Empty(new LucidTrailTailer(Path.Combine(_root, "elsewhere"), _state).ReadNew().Events);
}
