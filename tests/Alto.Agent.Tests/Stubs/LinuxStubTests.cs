using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Alto.Tiering;

namespace Alto.Agent.Tests.Stubs;

[SupportedOSPlatform("linux")]
[Trait("Layer", "Unit")]
public sealed class LinuxStubTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("alto-stubs-").FullName;
    private readonly PathTierStore _store = new(Directory.CreateTempSubdirectory("alto-stubs-tier2-").FullName);
    private readonly Guid _targetId = Guid.NewGuid();

    public void Dispose()
    {
        Directory.Delete(_folder, true);
        Directory.Delete(_store.Root, true);
    }

    private ITierStore Stores(Guid targetId) => targetId == _targetId ? _store : throw new KeyNotFoundException($"no target {targetId}");

    [Fact]
    public async Task AStubKeepsItsInodeSizeModeOwnerAndTimesAndReleasesItsData()
    {
        var path = Path.Combine(_folder, "report.pdf");
        var content = StubFiles.Write(path, 3 << 20);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var before = StubFiles.Stat(path);

        var stub = await StubFiles.TierAsync(path, _store, _targetId);

        var after = StubFiles.Stat(path);
        Assert.Equal((before.Inode, before.Size), (after.Inode, after.Size));
        Assert.Equal((before.ModifySeconds, before.ModifyNanoseconds, before.AccessSeconds, before.AccessNanoseconds),
            (after.ModifySeconds, after.ModifyNanoseconds, after.AccessSeconds, after.AccessNanoseconds));
        StubFiles.AssertReleased(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(path));
        Assert.Equal(stub, LinuxStubs.Read(path));
        Assert.Equal(StubFiles.Sha256(content), stub.Sha256);
        Assert.Equal(content.Length, new FileInfo(path).Length);
        // Bound to this very file: its inode and its generation as e2fsprogs reads it.
        var generation = await StubFiles.ShellAsync($"lsattr -v '{path}'");
        Assert.Equal(new StubBinding(before.Inode, ulong.Parse(generation.Output.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)), stub.Binding);
        Assert.Equal(["trusted.alto.binding", "trusted.alto.locator", "trusted.alto.sha256", "trusted.alto.size", "trusted.alto.target", "trusted.alto.version"],
            (await StubFiles.ShellAsync($"python3 -c \"import os,sys; print(*sorted(os.listxattr(sys.argv[1])))\" '{path}'")).Output.Split(' ', StringSplitOptions.TrimEntries));
    }

    [Fact]
    public async Task MarkersCopiedOntoAnotherFileOrForgedByItsOwnerAreNeverRecalledIntoIt()
    {
        var victim = Path.Combine(_folder, "salaries.xlsx");
        StubFiles.Write(victim, 120_000);
        var stub = await StubFiles.TierAsync(victim, _store, _targetId);
        // A privileged copy keeps trusted.* attributes (as cp -a or rsync -X run by root do): the copy is not the file the markers were made for.
        var copy = Path.Combine(_folder, "copy.xlsx");
        Assert.Equal(0, (await StubFiles.ShellAsync($"cp -a --sparse=always '{victim}' '{copy}'")).ExitCode);
        Assert.Equal(stub.Locator, LinuxStubs.Peek(copy)?.Locator);

        var refused = await Assert.ThrowsAsync<StubRefusedException>(() => LinuxStubs.RecallAsync(copy, Stores, CancellationToken.None));

        Assert.Contains("they were copied", refused.Reason, StringComparison.Ordinal);
        StubFiles.AssertReleased(copy);
        // An owner may set user.* attributes: version-1 markers on a file of theirs are recalled only when the cluster's record vouches for them.
        var forged = Path.Combine(_folder, "mine.xlsx");
        await File.WriteAllBytesAsync(forged, new byte[stub.Length]);
        foreach (var (name, value) in new[] { ("target", stub.TargetId.ToString()), ("sha256", stub.Sha256), ("size", stub.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("locator", stub.Locator) })
        {
            Assert.Equal(0, (await StubFiles.ShellAsync($"python3 -c \"import os,sys; os.setxattr(sys.argv[1], 'user.alto.{name}', sys.argv[2].encode())\" '{forged}' '{value}'")).ExitCode);
        }
        var asked = new List<StubQuestion>();
        var cluster = new RecallCluster((_, _) => throw new InvalidOperationException("no key"), (question, _) =>
        {
            asked.Add(question);
            return Task.FromResult(new StubAnswer(StubVerdict.Refused, "the cluster has no record of this version-1 stub's object"));
        });

        await Assert.ThrowsAsync<StubRefusedException>(() => LinuxStubs.RecallAsync(forged, Stores, CancellationToken.None, cluster));

        Assert.Equal(new byte[stub.Length], await File.ReadAllBytesAsync(forged));
        Assert.Equal([(forged, true)], asked.Select(question => (question.Path, question.Legacy)));
    }

    [Fact]
    public async Task ARecallOnCommandBringsBackTheExactBytesAndTimesAndRemovesTheStubAttributes()
    {
        var path = Path.Combine(_folder, "clip.mp4");
        var content = StubFiles.Write(path, 5_000_123);
        var before = StubFiles.Stat(path);
        await StubFiles.TierAsync(path, _store, _targetId);

        var recalled = await LinuxStubs.RecallAsync(path, Stores, CancellationToken.None);

        Assert.NotNull(recalled);
        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        Assert.Null(LinuxStubs.Read(path));
        var after = StubFiles.Stat(path);
        Assert.Equal((before.ModifySeconds, before.ModifyNanoseconds), (after.ModifySeconds, after.ModifyNanoseconds));
        Assert.True(after.Blocks > 0);
        Assert.Null(await LinuxStubs.RecallAsync(path, Stores, CancellationToken.None));
    }

    /// <summary>
    /// A sparse file (a VM image, a database's preallocated file) recalled whole would take its
    /// full size on the volume: a 64 MiB file holding 2 MiB of data came back with 64 MiB
    /// allocated, and a large one could fill the volume and fail its own recall. Ranges of zeros
    /// stay holes; the bytes read back are the same.
    /// </summary>
    [Fact]
    public async Task ASparseFileComesBackSparse()
    {
        var path = Path.Combine(_folder, "disk.img");
        var written = await StubFiles.ShellAsync(
            $"truncate -s 64M '{path}' && head -c 1M /dev/urandom | dd of='{path}' bs=1M seek=10 conv=notrunc status=none " +
            $"&& head -c 1000000 /dev/urandom | dd of='{path}' bs=1 seek=66108864 conv=notrunc status=none");
        Assert.True(written.ExitCode == 0, written.Output);
        var content = await File.ReadAllBytesAsync(path);
        var allocated = StubFiles.Stat(path).Blocks * 512;
        Assert.InRange(allocated, 1L << 20, 3L << 20);
        await StubFiles.TierAsync(path, _store, _targetId);

        Assert.NotNull(await LinuxStubs.RecallAsync(path, Stores, CancellationToken.None));

        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        Assert.Equal(64L << 20, new FileInfo(path).Length);
        Assert.InRange(StubFiles.Stat(path).Blocks * 512, 1L << 20, allocated + (64 << 10));
    }

    /// <summary>
    /// A folder target whose server is gone (a hard-mounted share): opening the object blocks in
    /// the kernel, and the open used to run on the recall's own thread, out of the stall limit's
    /// reach, so the reader waited for ever. The object is a FIFO here, whose open blocks the same
    /// way until a writer comes; the recall gives up after the limit (2 s) and the file stays a stub.
    /// </summary>
    [Fact]
    public async Task ARecallWhoseObjectCannotEvenBeOpenedGivesUpAfterTheStallLimit()
    {
        var path = Path.Combine(_folder, "far-share.bin");
        StubFiles.Write(path, 100_000);
        var stub = await StubFiles.TierAsync(path, _store, _targetId);
        var objectPath = Path.Combine(_store.Root, stub.Locator);
        File.Delete(objectPath);
        Assert.Equal(0, (await StubFiles.ShellAsync($"mkfifo '{objectPath}'")).ExitCode);

        var recall = Task.Run(async () =>
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
            return await LinuxStubs.RecallAsync(LinuxFiles.Fd(file), path, Stores, CancellationToken.None, stallLimit: TimeSpan.FromSeconds(2));
        });
        var ended = await Task.WhenAny(recall, Task.Delay(TimeSpan.FromSeconds(30)));
        if (ended != recall)
        {
            // Released before failing, so a regression does not hold the test run: a writer lets the open through.
            await StubFiles.ShellAsync($"timeout 5 sh -c \"exec 3>'{objectPath}'\"");
            Assert.Fail("the recall was still waiting for tier 2 after 30 s");
        }

        var failed = await Assert.ThrowsAsync<StubRecallException>(() => recall);
        Assert.Contains("tier 2 sent nothing for 2 s", failed.Message, StringComparison.Ordinal);
        StubFiles.AssertReleased(path);
        Assert.Equal(stub, LinuxStubs.Read(path));
        // The open given up on is still waiting in the kernel: a writer lets it end.
        await StubFiles.ShellAsync($"timeout 5 sh -c \"exec 3>'{objectPath}'\"");
    }

    [Fact]
    public async Task AFileThatChangedAfterItWasReadIsNotStubbed()
    {
        var path = Path.Combine(_folder, "busy.db");
        var content = StubFiles.Write(path, 100_000);
        var times = StubFiles.Stat(path);
        StoredObject stored;
        await using (var stream = File.OpenRead(path))
        {
            stored = await _store.PutAsync(StubFiles.TenantId, stream, CancellationToken.None);
        }
        await File.AppendAllTextAsync(path, "one more line");

        Assert.Throws<FileChangedException>(() => LinuxStubs.MakeStub(path, new StubInfo(_targetId, stored.Key, stored.Sha256, stored.Length), times));

        Assert.Null(LinuxStubs.Read(path));
        byte[] expected = [.. content, .. "one more line"u8.ToArray()];
        Assert.Equal(expected, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task InABatchOnlyTheFileThatChangedAfterItWasReadIsLeftAsItIs()
    {
        var requests = new List<StubRequest>();
        var contents = new List<byte[]>();
        foreach (var name in new[] { "a.bin", "b.bin", "c.bin" })
        {
            var path = Path.Combine(_folder, name);
            contents.Add(StubFiles.Write(path, 200_000));
            var times = StubFiles.Stat(path);
            StoredObject stored;
            await using (var stream = File.OpenRead(path))
            {
                stored = await _store.PutAsync(StubFiles.TenantId, stream, CancellationToken.None);
            }
            requests.Add(new StubRequest(path, new StubInfo(_targetId, stored.Key, stored.Sha256, stored.Length), times));
        }
        await File.AppendAllTextAsync(requests[1].Path, "written after the read");

        var results = LinuxStubs.MakeStubs(requests);

        Assert.Null(results[0]);
        Assert.IsType<FileChangedException>(results[1]);
        Assert.Null(results[2]);
        foreach (var i in new[] { 0, 2 })
        {
            Assert.Equal(requests[i].Stub.Locator, LinuxStubs.Read(requests[i].Path)?.Locator);
            StubFiles.AssertReleased(requests[i].Path);
        }
        Assert.Null(LinuxStubs.Read(requests[1].Path));
        byte[] expected = [.. contents[1], .. "written after the read"u8.ToArray()];
        Assert.Equal(expected, await File.ReadAllBytesAsync(requests[1].Path));
    }

    /// <summary>
    /// A program that has the file open for writing, or mapped for writing after closing its
    /// descriptor, may write at any moment, through a mapped page without changing any time: the
    /// file is left as it is. One that only reads it loses nothing when its data goes (its next
    /// read recalls), so that file is made a stub.
    /// </summary>
    [Theory]
    [InlineData(OtherProgram.Opening.Write, false)]
    [InlineData(OtherProgram.Opening.Map, false)]
    [InlineData(OtherProgram.Opening.Read, true)]
    public async Task AFileAnotherProgramMayWriteIsNotMadeAStubButOneItOnlyReadsIs(OtherProgram.Opening how, bool stubbed)
    {
        var path = Path.Combine(_folder, "results.h5");
        var content = StubFiles.Write(path, 300_000);
        var (stub, readAt) = await UploadAsync(path);

        await using (await OtherProgram.OpenAsync(path, how))
        {
            var result = LinuxStubs.MakeStubs([new StubRequest(path, stub, readAt)])[0];

            if (stubbed)
            {
                Assert.Null(result);
                StubFiles.AssertReleased(path);
                return;
            }
            Assert.IsType<FileInUseException>(result);
            Assert.Null(LinuxStubs.Read(path));
            Assert.Equal(content, await File.ReadAllBytesAsync(path));
        }

        // Once the program is gone the same verified upload makes the file a stub.
        LinuxStubs.MakeStub(path, stub, readAt);
        StubFiles.AssertReleased(path);
    }

    /// <summary>
    /// Where leases are turned off (<c>fs.leases-enable</c> = 0) no program's writers can be seen,
    /// and the agent warns at its start; a setting it cannot read is taken as the kernel's default (on).
    /// </summary>
    [Theory]
    [InlineData("0\n", true)]
    [InlineData("1\n", false)]
    [InlineData(null, false)]
    public async Task LeasesTurnedOffAreToldFromTheKernelSetting(string? setting, bool turnedOff)
    {
        var path = Path.Combine(_folder, "leases-enable");
        if (setting is not null)
        {
            await File.WriteAllTextAsync(path, setting);
        }

        Assert.Equal(turnedOff, WriterProbe.LeasesTurnedOff(path));
    }

    /// <summary>
    /// A program maps the file and writes to a page; the agent reads the file, and while it
    /// uploads, the program writes to the same page again. The page was dirty already, so that
    /// store changes no time and the change check cannot see it; releasing the data would have
    /// dropped the page with the program's bytes in it, and the next read would have recalled
    /// the older upload.
    /// </summary>
    [Fact]
    public async Task AWriteThroughAMappedPageThatChangesNoTimeIsNeverLost()
    {
        var path = Path.Combine(_folder, "simulation.npy");
        var content = StubFiles.Write(path, 300_000);
        await using var program = await OtherProgram.OpenAsync(path, OtherProgram.Opening.Map);
        await program.WriteAsync("first pass");
        var (stub, readAt) = await UploadAsync(path);
        await program.WriteAsync("second pass");

        var result = LinuxStubs.MakeStubs([new StubRequest(path, stub, readAt)])[0];

        // In use (or, had the page been written back meanwhile, changed): either way left as it is.
        Assert.IsAssignableFrom<IOException>(result);
        Assert.Null(LinuxStubs.Read(path));
        byte[] expected = [.. "second pass"u8.ToArray(), .. content.AsSpan("second pass".Length)];
        Assert.Equal(expected, await File.ReadAllBytesAsync(path));
    }

    /// <summary>Reads the file's status, then uploads it: the stub it would be and the status it was read at.</summary>
    private async Task<(StubInfo Stub, FileTimes ReadAt)> UploadAsync(string path)
    {
        var readAt = StubFiles.Stat(path);
        StoredObject stored;
        await using (var stream = File.OpenRead(path))
        {
            stored = await _store.PutAsync(StubFiles.TenantId, stream, CancellationToken.None);
        }
        return (new StubInfo(_targetId, stored.Key, stored.Sha256, stored.Length), readAt);
    }

    /// <summary>
    /// Two names of one file (hard links, as backup trees made with <c>rsync --link-dest</c> hold
    /// by the million): the agent read the file through one name, and meanwhile it was made a stub
    /// through the other. The agent's own reads never recall, so what it read after that was the
    /// holes: a stub of those zeros must never replace the stub of the real bytes.
    /// </summary>
    [Fact]
    public async Task AFileMadeAStubThroughAnotherNameSinceItWasReadIsNotMadeAStubAgain()
    {
        var (first, second, original) = await StubFiles.HardLinkedAsync(_folder, "2024-06-01", "2024-06-02", 300_000);
        var readAt = StubFiles.Stat(second);
        var stub = await StubFiles.TierAsync(first, _store, _targetId);
        StoredObject zeros;
        await using (var holes = File.OpenRead(second))
        {
            zeros = await _store.PutAsync(StubFiles.TenantId, holes, CancellationToken.None);
        }
        Assert.NotEqual(stub.Sha256, zeros.Sha256);

        var results = LinuxStubs.MakeStubs([new StubRequest(second, new StubInfo(_targetId, zeros.Key, zeros.Sha256, zeros.Length), readAt)]);

        Assert.IsType<FileChangedException>(results[0]);
        Assert.Equal(stub, LinuxStubs.Read(second));
        StubFiles.AssertReleased(first);
        Assert.Equal(stub, await LinuxStubs.RecallAsync(second, Stores, CancellationToken.None));
        Assert.Equal(original, await File.ReadAllBytesAsync(first));
    }

    [Fact]
    public async Task ARecallFromADamagedOrMissingObjectLeavesAValidStub()
    {
        var damaged = Path.Combine(_folder, "damaged.bin");
        StubFiles.Write(damaged, 200_000);
        var stub = await StubFiles.TierAsync(damaged, _store, _targetId);
        var objectPath = Path.Combine(_store.Root, stub.Locator);
        var bytes = await File.ReadAllBytesAsync(objectPath);
        bytes[1000] ^= 0xff;
        await File.WriteAllBytesAsync(objectPath, bytes);

        await Assert.ThrowsAsync<StubRecallException>(() => LinuxStubs.RecallAsync(damaged, Stores, CancellationToken.None));
        Assert.Equal(stub, LinuxStubs.Read(damaged));
        StubFiles.AssertReleased(damaged);

        File.Delete(objectPath);
        await Assert.ThrowsAsync<StubRecallException>(() => LinuxStubs.RecallAsync(damaged, Stores, CancellationToken.None));
        Assert.Equal(stub, LinuxStubs.Read(damaged));
    }
}
