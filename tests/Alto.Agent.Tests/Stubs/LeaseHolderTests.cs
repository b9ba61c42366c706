using System.Diagnostics;
using System.Runtime.Versioning;
using Alto.Agent.Stubs;

namespace Alto.Agent.Tests.Stubs;

/// <summary>
/// A program holding a lease on a stub (any local user may take one on a file of theirs; file
/// servers take them for their clients) that it had open before the file became a stub, and then
/// reads it, on a loop-mounted ext4 volume of its own. Opening the file for the event's descriptor
/// used to break the lease inside the listener's read of its events: every open of the volume
/// waited until the holder gave the lease up, or 45 s (fs.lease-break-time) for one that never
/// did. Now only this file's recall waits for the lease: a holder that gives it up when told
/// (SIGIO) reads its file whole at once, and one that ignores it holds up no one else.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Layer", "Unit")]
public sealed class LeaseHolderTests : IDisposable
{
    /// <summary>Opens the file, takes a read or write lease when told, then reads the whole file on a thread of its own (a stub's read waits for its recall) while the main thread answers SIGIO.</summary>
    private const string Script = """
        import fcntl, os, signal, sys, threading
        path, gives_up, lease = sys.argv[1], sys.argv[2] == "gives-up", sys.argv[3]
        fd = os.open(path, os.O_RDONLY)
        print("open", flush=True)
        sys.stdin.readline()
        def told(number, frame):
            fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        signal.signal(signal.SIGIO, told if gives_up else signal.SIG_IGN)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK if lease == "read" else fcntl.F_WRLCK)
        print("leased", flush=True)
        sys.stdin.readline()
        def read():
            try:
                print("read %d" % len(os.pread(fd, 1 << 20, 0)), flush=True)
            except OSError as error:
                print("error %d" % error.errno, flush=True)
        threading.Thread(target=read, daemon=True).start()
        sys.stdin.readline()
        """;

    private readonly RecallVolume _recall = new();

    public void Dispose() => _recall.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ALeaseHolderReadingItsStubHoldsUpNoOtherOpenAndReadsItWholeOnceItGivesTheLeaseUp(bool givesUp)
    {
        var path = Path.Combine(_recall.Root, "leased.bin");
        var content = StubFiles.Write(path, 100_000);
        using var holder = StartHolder(path, givesUp ? "gives-up" : "keeps", "read");
        try
        {
            Assert.Equal("open", await holder.StandardOutput.ReadLineAsync());
            await _recall.TierAsync(path);
            await TellAsync(holder, "lease");
            Assert.Equal("leased", await holder.StandardOutput.ReadLineAsync());

            await TellAsync(holder, "read");
            var clock = Stopwatch.StartNew();
            var read = holder.StandardOutput.ReadLineAsync();
            // Another program opening another file of the volume meanwhile: its open raises an event too.
            await Task.WhenAny(read, Task.Delay(300));
            var other = await StubFiles.ShellAsync($"echo other > '{_recall.Root}/other.txt' && cat '{_recall.Root}/other.txt'");

            Assert.Equal((0, "other"), other);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"another program's open waited {clock.Elapsed.TotalSeconds:0.0} s");
            if (givesUp)
            {
                Assert.Equal("read 100000", await read.WaitAsync(TimeSpan.FromSeconds(10)));
                Assert.Null(LinuxStubs.Read(path));
            }
            else
            {
                // Its read waits until the kernel takes the lease away; the holder ends first here.
                Assert.False(read.IsCompleted);
                holder.Kill();
            }
            var again = await StubFiles.ShellAsync($"sha256sum '{path}'");
            Assert.StartsWith(StubFiles.Sha256(content), again.Output, StringComparison.Ordinal);
        }
        finally
        {
            if (!holder.HasExited)
            {
                holder.Kill();
            }
        }
    }

    /// <summary>
    /// A write lease (granted only to the file's one opener): the event's read-only descriptor
    /// conflicts with it too, so the kernel refuses that one access (EPERM, never zeros) and starts
    /// the lease's break, rather than have the listener, and every open behind it, wait for it.
    /// </summary>
    [Fact]
    public async Task AWriteLeaseHolderReadingItsStubIsRefusedAtOnceAndHoldsUpNoOtherOpen()
    {
        var path = Path.Combine(_recall.Root, "write-leased.bin");
        var content = StubFiles.Write(path, 100_000);
        using var holder = StartHolder(path, "keeps", "write");
        try
        {
            Assert.Equal("open", await holder.StandardOutput.ReadLineAsync());
            await _recall.TierAsync(path);
            await TellAsync(holder, "lease");
            Assert.Equal("leased", await holder.StandardOutput.ReadLineAsync());

            var clock = Stopwatch.StartNew();
            await TellAsync(holder, "read");
            var read = await holder.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            var other = await StubFiles.ShellAsync($"echo other > '{_recall.Root}/other.txt' && cat '{_recall.Root}/other.txt'");

            Assert.Equal("error 1", read);
            Assert.Equal((0, "other"), other);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed.TotalSeconds:0.0} s");
            Assert.True(_recall.Listener.Counts.Failed >= 1, "the refusal was not counted");
            holder.Kill();
            await holder.WaitForExitAsync();
            var again = await StubFiles.ShellAsync($"sha256sum '{path}'");
            Assert.StartsWith(StubFiles.Sha256(content), again.Output, StringComparison.Ordinal);
        }
        finally
        {
            if (!holder.HasExited)
            {
                holder.Kill();
            }
        }
    }

    private static Process StartHolder(string path, string givesUp, string lease) =>
        Process.Start(new ProcessStartInfo("python3", ["-c", Script, path, givesUp, lease]) { RedirectStandardInput = true, RedirectStandardOutput = true })!;

    private static async Task TellAsync(Process holder, string what)
    {
        await holder.StandardInput.WriteLineAsync(what);
        await holder.StandardInput.FlushAsync();
    }
}
