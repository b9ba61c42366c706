using System.Net;
using System.Net.Sockets;
using System.Text;
using Alto.Tiering;

namespace Alto.Agent.Tests.Stubs;

/// <summary>
/// An S3 endpoint on 127.0.0.1 that stops answering, as one behind a firewall that drops the flow
/// or a hung gateway does: it takes the connection and then sends nothing (<see cref="Silent"/>),
/// or sends the response's headers and the first half of the object and then nothing
/// (<see cref="HalfThenSilent"/>). Connections stay open until it is disposed. The real S3 client
/// talks to it; nothing here stands in for Alto's own code.
/// </summary>
internal sealed class SilentTierTwo : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<TcpClient> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly int _sentBytes;

    private SilentTierTwo(int sentBytes)
    {
        _sentBytes = sentBytes;
        _listener.Start();
        _ = AcceptAsync();
    }

    /// <summary>Takes connections and never answers.</summary>
    public static SilentTierTwo Silent() => new(-1);

    /// <summary>Answers 200 for an object of <paramref name="objectBytes"/> bytes, sends half of them, then nothing.</summary>
    public static SilentTierTwo HalfThenSilent(int objectBytes) => new(objectBytes);

    public string Endpoint => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>An S3 store (path-style, any credentials) on this endpoint.</summary>
    public ITierStore Store => new TierTarget("s3", Bucket: "tier2", Region: "us-east-1", Endpoint: Endpoint,
        ForcePathStyle: true, AccessKeyId: "silent", SecretAccessKey: "silent").Open();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_held)
        {
            foreach (var client in _held)
            {
                client.Dispose();
            }
        }
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                lock (_held)
                {
                    _held.Add(client);
                }
                if (_sentBytes >= 0)
                {
                    _ = AnswerHalfAsync(client);
                }
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Disposed.
        }
    }

    private async Task AnswerHalfAsync(TcpClient client)
    {
        try
        {
            var stream = client.GetStream();
            var request = new byte[16 * 1024];
            var received = 0;
            // The request's headers end with an empty line; a GET has no body.
            while (!Encoding.ASCII.GetString(request, 0, received).Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                received += await stream.ReadAsync(request.AsMemory(received), _stop.Token);
            }
            var headers = $"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {_sentBytes}\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(headers), _stop.Token);
            await stream.WriteAsync(new byte[_sentBytes / 2], _stop.Token);
            await stream.FlushAsync(_stop.Token);
        }
        catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException or IOException)
        {
            // Disposed.
        }
    }
}
