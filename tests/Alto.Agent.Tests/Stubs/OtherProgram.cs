using System.Diagnostics;
using System.Runtime.Versioning;

namespace Alto.Agent.Tests.Stubs;

/// <summary>
/// Another program with a file open, in a process of its own (so the kernel counts its open as
/// someone else's): it opens the file, read-only, for writing, or maps it shared and writable and
/// closes its descriptor (the mapping alone keeps the file), then writes text at offset 0 when told;
/// or it opens the file read-only and takes a lease on it, as a file server does for its clients.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class OtherProgram : IAsyncDisposable
{
    private const string Script = """
        import mmap, os, sys
        path, how = sys.argv[1], sys.argv[2]
        fd = os.open(path, os.O_RDWR if how in ("write", "map") else os.O_RDONLY)
        mapped = None
        if how == "map":
            mapped = mmap.mmap(fd, os.fstat(fd).st_size, mmap.MAP_SHARED)
            os.close(fd)
        if how.endswith("lease"):
            import fcntl, signal
            # Told by SIGIO when an open breaks the lease; a holder that ignores it keeps the
            # lease until the kernel takes it away (fs.lease-break-time).
            signal.signal(signal.SIGIO, signal.SIG_IGN)
            fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK if how == "readlease" else fcntl.F_WRLCK)
        print("ready", flush=True)
        for line in sys.stdin:
            text = line.rstrip("\n").encode()
            if mapped is not None:
                mapped[0:len(text)] = text
            else:
                os.pwrite(fd, text, 0)
            print("written", flush=True)
        """;

    private readonly Process _process;

    private OtherProgram(Process process) => _process = process;

    public enum Opening
    {
        Read,
        Write,
        Map,

        /// <summary>A read lease: an open for writing would break it.</summary>
        ReadLease,

        /// <summary>A write lease: any open would break it.</summary>
        WriteLease,
    }

    public static async Task<OtherProgram> OpenAsync(string path, Opening how)
    {
        var start = new ProcessStartInfo("python3", ["-c", Script, path, how.ToString().ToLowerInvariant()])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        var program = new OtherProgram(Process.Start(start)!);
        await program.ExpectAsync("ready");
        return program;
    }

    /// <summary>Writes <paramref name="text"/> at the start of the file (through the mapping, when mapped).</summary>
    public async Task WriteAsync(string text)
    {
        await _process.StandardInput.WriteLineAsync(text);
        await _process.StandardInput.FlushAsync();
        await ExpectAsync("written");
    }

    private async Task ExpectAsync(string line)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal(line, await _process.StandardOutput.ReadLineAsync(timeout.Token));
    }

    /// <summary>Ends the program: its input closed, it exits, and with it its open and mapping.</summary>
    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(timeout.Token);
        _process.Dispose();
    }
}
