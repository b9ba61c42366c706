using System.Diagnostics;
using System.Text;

namespace Alto.TestSupport;

/// <summary>
/// One of Alto's programs started as a real process (dotnet program.dll) with its settings in
/// environment variables. Output is collected; the process is stopped by its own pid.
/// </summary>
public sealed class ProgramRun : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private bool _disposed;

    private ProgramRun(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, line) => Append(line.Data);
        _process.ErrorDataReceived += (_, line) => Append(line.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Whether it was disposed (killed if still running): a test that ends a process early disposes it, and its <c>await using</c> again.</summary>
    public bool IsDisposed => _disposed;

    public int ProcessId => _process.Id;

    public static ProgramRun Start(string dll, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        Start(new ProcessStartInfo("dotnet", [dll, .. arguments]), dll, environment);

    /// <summary>
    /// The program run by bash with each argument spelled from its escaped text (<c>\xHH</c> for a
    /// byte, as the scan format writes one), as a shell user types a name that is not UTF-8
    /// (<c>$'caf\xE9.pdf'</c>): .NET itself can pass no such bytes to a process.
    /// </summary>
    public static ProgramRun StartWithEscapedArguments(string dll, IReadOnlyDictionary<string, string> environment, params string[] escapedArguments) =>
        Start(new ProcessStartInfo("bash", ["-c", "arguments=(); for a in \"$@\"; do arguments+=(\"$(printf '%b' \"$a\")\"); done; exec dotnet \"${arguments[@]}\"", "bash", dll, .. escapedArguments]),
            dll, environment);

    /// <summary>A published, self-contained program run as it is shipped: its own executable, no dotnet host.</summary>
    public static ProgramRun StartExecutable(string executable, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        Start(new ProcessStartInfo(executable, arguments), executable, environment);

    /// <summary>The program run as another (unprivileged) user through runuser, as an admin who forgot sudo would run it.</summary>
    public static ProgramRun StartAs(string user, string dll, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        Start(new ProcessStartInfo("runuser", ["-u", user, "--", "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", "dotnet", dll, .. arguments]), dll, environment);

    private static ProgramRun Start(ProcessStartInfo start, string dll, IReadOnlyDictionary<string, string> environment)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.WorkingDirectory = Path.GetDirectoryName(dll)!;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        start.Environment["DOTNET_NOLOGO"] = "1";
        // Tests never write the master key into the home folder: a run without one of its own shares this one.
        if (!environment.ContainsKey("Alto__Keys__MasterKeyFile"))
        {
            start.Environment["Alto__Keys__MasterKeyFile"] = Path.Combine(Path.GetTempPath(), "alto-test-keys", "shared.key");
        }
        return new ProgramRun(Process.Start(start)!);
    }

    /// <summary>Waits for the process to end by itself and returns its exit code; a process that does not end in time fails with what it printed.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException exception) when (cancel.IsCancellationRequested)
        {
            throw new TimeoutException($"the program did not exit within {timeout.TotalSeconds:0} s; its output so far:\n{Output}", exception);
        }
        return _process.ExitCode;
    }

    /// <summary>Asks the process to stop (SIGTERM, as systemd or Kubernetes would) and waits for it.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }
        return await WaitForExitAsync(timeout);
    }

    /// <summary>Kills the process (SIGKILL), as a crash or an OOM kill would, leaving whatever it started running; waits for it.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
