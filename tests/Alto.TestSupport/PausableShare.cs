using System.Diagnostics;

namespace Alto.TestSupport;

/// <summary>
/// A mounted share whose server can stop answering and come back (<c>tests/stand-ins/pausable-share.py</c>,
/// a FUSE pass-through to a folder of its own): while paused, every call into it waits in the
/// kernel, as on an NFS hard mount whose server is gone. Stands in for an NFS or SMB server,
/// which this machine's kernel cannot mount. Root only; unmounted and deleted when disposed.
/// </summary>
public sealed class PausableShare : IAsyncDisposable
{
    private readonly string _work;
    private readonly string _pauseFile;
    private readonly Process _server;

    private PausableShare(string work, Process server)
    {
        _work = work;
        _server = server;
        _pauseFile = Path.Combine(work, "pause");
        Root = Path.Combine(work, "share");
    }

    /// <summary>Where the share is mounted.</summary>
    public string Root { get; }

    /// <summary>The folder behind the share, read and written directly (never held).</summary>
    public string Backing => Path.Combine(_work, "backing");

    /// <summary>Mounts a fresh, empty share.</summary>
    /// <exception cref="InvalidOperationException">It could not be mounted (FUSE or its Python binding missing), with what the server said.</exception>
    public static async Task<PausableShare> StartAsync()
    {
        var work = Directory.CreateTempSubdirectory("alto-share-").FullName;
        Directory.CreateDirectory(Path.Combine(work, "backing"));
        Directory.CreateDirectory(Path.Combine(work, "share"));
        var script = Path.Combine(RepositoryPaths.Root, "tests", "stand-ins", "pausable-share.py");
        var start = new ProcessStartInfo("/usr/bin/python3", [script, Path.Combine(work, "backing"), Path.Combine(work, "share"), Path.Combine(work, "pause")])
        {
            RedirectStandardError = true,
        };
        var said = new System.Text.StringBuilder();
        var server = Process.Start(start)!;
        server.ErrorDataReceived += (_, line) =>
        {
            lock (said)
            {
                said.AppendLine(line.Data);
            }
        };
        server.BeginErrorReadLine();
        var share = new PausableShare(work, server);
        var waited = Stopwatch.StartNew();
        while (!share.IsMounted())
        {
            if (server.HasExited || waited.Elapsed > TimeSpan.FromSeconds(20))
            {
                var reason = server.HasExited ? said.ToString().Trim() : "not mounted after 20 s";
                await share.DisposeAsync();
                throw new InvalidOperationException($"the pausable share could not be mounted (python3-fusepy and fuse3 installed?): {reason}");
            }
            await Task.Delay(50);
        }
        return share;
    }

    /// <summary>The server stops answering: every call into the share waits from now on.</summary>
    public void Pause() => File.WriteAllText(_pauseFile, "");

    /// <summary>The server is back: the calls that waited go on.</summary>
    public void Resume() => File.Delete(_pauseFile);

    /// <summary>
    /// Writes go through at this many bytes a second at most, all together, from now on: a slow
    /// server or link, as slow on a fast machine as on a busy one.
    /// </summary>
    public void LimitWrites(long bytesPerSecond) =>
        File.WriteAllText(_pauseFile + ".rate", bytesPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public async ValueTask DisposeAsync()
    {
        Resume();
        if (IsMounted() && await RunAsync("umount", Root) != 0)
        {
            await RunAsync("umount", "-l", Root);
        }
        if (!_server.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            _server.Kill();
        }
        _server.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    private bool IsMounted() => File.ReadLines("/proc/self/mountinfo").Any(line => line.Split(' ')[4] == Root);

    private static async Task<int> RunAsync(string command, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        await process.WaitForExitAsync();
        return process.ExitCode;
    }
}
