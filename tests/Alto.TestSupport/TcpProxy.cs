using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Alto.TestSupport;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of a real server (the gateway's gRPC port, PostgreSQL), so a
/// test can cut the network the way a failing link or a restarted server does: every connection
/// through it dropped at once, and new ones refused while it is down. Bytes pass through
/// untouched.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, (TcpClient Client, TcpClient Server)> _connections = new();
    private readonly Task _accepting;
    private volatile bool _down;
    private int _next;

    private TcpProxy(int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Connections relayed so far (a reconnect shows as one more).</summary>
    public int Accepted => Volatile.Read(ref _next);

    public static TcpProxy To(int targetPort) => new(targetPort);

    /// <summary>Drops every open connection; with <paramref name="stayDown"/>, new ones are refused until <see cref="Restore"/>.</summary>
    public void Cut(bool stayDown = false)
    {
        _down = stayDown;
        foreach (var (id, pair) in _connections)
        {
            _connections.TryRemove(id, out _);
            pair.Client.Client.LingerState = new LingerOption(true, 0);
            pair.Client.Dispose();
            pair.Server.Dispose();
        }
    }

    public void Restore() => _down = false;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            if (_down)
            {
                client.Client.LingerState = new LingerOption(true, 0);
                client.Dispose();
                continue;
            }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        var server = new TcpClient();
        try
        {
            await server.ConnectAsync(_target, _stop.Token);
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException)
        {
            client.Dispose();
            server.Dispose();
            return;
        }
        var id = Interlocked.Increment(ref _next);
        _connections[id] = (client, server);
        var up = PumpAsync(client.GetStream(), server.GetStream());
        var down = PumpAsync(server.GetStream(), client.GetStream());
        await Task.WhenAny(up, down);
        if (_connections.TryRemove(id, out _))
        {
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            // The other side went, or the test cut the link: the relay ends.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        await _accepting;
        _stop.Dispose();
    }
}
