using System.Diagnostics;
using System.Globalization;

namespace Alto.TestSupport;

/// <summary>The receiver's TLS: its certificate and key, and the CA that signed them (PEM files).</summary>
public sealed record RsyslogTls(string CaFile, string CertificateFile, string KeyFile);

/// <summary>
/// A real rsyslog (Debian's rsyslogd with imrelp) on 127.0.0.1, receiving RELP — and, with TLS,
/// also syslog over TLS (RFC 5425, imtcp on <see cref="SyslogPort"/>) — and writing each message
/// as a line to a file, as a SIEM's syslog tier would. Messages are processed as they
/// arrive (direct queues) and the file is flushed after each batch, so an answered message is on
/// disk. The test can kill it (SIGKILL, by its pid) and start it again on the same port.
/// </summary>
public sealed class RsyslogReceiver : IAsyncDisposable
{
    private const string HowToGetIt = "install Debian's rsyslog, rsyslog-relp and rsyslog-openssl packages (scripts/test.sh does)";
    private readonly string _folder;
    private Process? _process;

    private RsyslogReceiver(string folder, int port, int syslogPort)
    {
        _folder = folder;
        Port = port;
        SyslogPort = syslogPort;
    }

    /// <summary>RELP (over TLS when the receiver has TLS).</summary>
    public int Port { get; }

    /// <summary>Syslog over TLS, octet-counted (RFC 5425); only with TLS.</summary>
    public int SyslogPort { get; }

    public string LogFile => Path.Combine(_folder, "audit.log");

    public static async Task<RsyslogReceiver> StartAsync(RsyslogTls? tls = null)
    {
        var receiver = new RsyslogReceiver(Directory.CreateTempSubdirectory("alto-rsyslog-").FullName, FreePorts.Next(), FreePorts.Next());
        Directory.CreateDirectory(Path.Combine(receiver._folder, "work"));
        var inputs = tls is null
            ? $"""
              module(load="imrelp")
              input(type="imrelp" port="{receiver.Port}" address="127.0.0.1" ruleset="audit" maxDataSize="64k")
              """
            : $"""
              module(load="imrelp" tls.tlslib="openssl")
              input(type="imrelp" port="{receiver.Port}" address="127.0.0.1" ruleset="audit" maxDataSize="64k"
                    tls="on" tls.cacert="{tls.CaFile}" tls.mycert="{tls.CertificateFile}" tls.myprivkey="{tls.KeyFile}")
              global(defaultNetstreamDriverCAFile="{tls.CaFile}" defaultNetstreamDriverCertFile="{tls.CertificateFile}" defaultNetstreamDriverKeyFile="{tls.KeyFile}")
              module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")
              input(type="imtcp" port="{receiver.SyslogPort}" address="127.0.0.1" ruleset="audit")
              """;
        await File.WriteAllTextAsync(Path.Combine(receiver._folder, "rsyslog.conf"), string.Create(CultureInfo.InvariantCulture, $$"""
            global(workDirectory="{{receiver._folder}}/work" maxMessageSize="64k")
            main_queue(queue.type="Direct")
            {{inputs}}
            ruleset(name="audit" queue.type="Direct") {
              action(type="omfile" file="{{receiver.LogFile}}" template="RSYSLOG_SyslogProtocol23Format" flushOnTXEnd="on" asyncWriting="off")
            }
            """));
        await receiver.RestartAsync();
        return receiver;
    }

    /// <summary>Starts rsyslogd (again) and waits until it takes connections.</summary>
    public async Task RestartAsync()
    {
        if (!File.Exists("/usr/sbin/rsyslogd"))
        {
            throw new InvalidOperationException($"rsyslogd is not installed: {HowToGetIt}");
        }
        var start = new ProcessStartInfo("/usr/sbin/rsyslogd", ["-n", "-f", Path.Combine(_folder, "rsyslog.conf"), "-i", Path.Combine(_folder, "rsyslogd.pid")])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        _process = Process.Start(start)!;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                await probe.ConnectAsync(System.Net.IPAddress.Loopback, Port);
                return;
            }
            catch (System.Net.Sockets.SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(100);
            }
            catch (System.Net.Sockets.SocketException)
            {
                throw new InvalidOperationException($"rsyslogd did not listen on {Port}: {await _process.StandardError.ReadToEndAsync()}");
            }
        }
    }

    /// <summary>Kills the receiver at once (SIGKILL), as a crash or an OOM kill would.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>The messages written so far, one a line.</summary>
    public async Task<string[]> LinesAsync() => File.Exists(LogFile) ? await File.ReadAllLinesAsync(LogFile) : [];

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
