using System.Diagnostics;
using System.Net.Sockets;

namespace Alto.TestSupport;

/// <summary>
/// A tier-2 server from npm (s3rver or azurite), pinned in tests/tier2-servers and installed by
/// scripts/test.sh, running on a free 127.0.0.1 port with its data in a temporary folder. It is
/// stopped by its own process id when disposed.
/// </summary>
public sealed class Tier2Server : IAsyncDisposable
{
    /// <summary>The well-known development account every azurite accepts.</summary>
    public const string AzuriteAccount = "devstoreaccount1";
    public const string AzuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    public const string S3Key = "S3RVER";

    private readonly Process _process;
    private readonly string _dataDirectory;

    private Tier2Server(Process process, string dataDirectory, int port)
    {
        _process = process;
        _dataDirectory = dataDirectory;
        Port = port;
    }

    public int Port { get; }

    public string S3Endpoint => $"http://127.0.0.1:{Port}";

    public string AzureConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AzuriteAccount};AccountKey={AzuriteKey};BlobEndpoint=http://127.0.0.1:{Port}/{AzuriteAccount};";

    /// <summary>s3rver with the given buckets created.</summary>
    public static Task<Tier2Server> StartS3Async(params string[] buckets)
    {
        var port = FreePorts.Next();
        var data = Directory.CreateTempSubdirectory("alto-s3rver-").FullName;
        List<string> arguments = ["-d", data, "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent"];
        foreach (var bucket in buckets)
        {
            arguments.AddRange(["--configure-bucket", bucket]);
        }
        return StartAsync("s3rver", arguments, data, port);
    }

    public static Task<Tier2Server> StartAzuriteAsync()
    {
        var port = FreePorts.Next();
        var data = Directory.CreateTempSubdirectory("alto-azurite-").FullName;
        return StartAsync("azurite-blob",
            ["--blobHost", "127.0.0.1", "--blobPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-l", data,
             "--skipApiVersionCheck", "--disableTelemetry", "--silent"], data, port);
    }

    private static async Task<Tier2Server> StartAsync(string tool, IEnumerable<string> arguments, string data, int port)
    {
        var executable = Path.Combine(RepositoryPaths.Root, "tests", "tier2-servers", "node_modules", ".bin", tool);
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"{tool} is not installed: run 'npm ci' in tests/tier2-servers (scripts/test.sh does this itself)");
        }
        var start = new ProcessStartInfo(executable, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new Tier2Server(process, data, port);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
            catch (SocketException)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException($"{tool} did not start listening on 127.0.0.1:{port}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A temporary folder left behind is harmless.
        }
    }
}
