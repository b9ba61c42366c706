using System.Net;
using System.Net.Sockets;

namespace Alto.TestSupport;

/// <summary>
/// Loopback ports for silos, gateways and servers a test starts. They come from below the
/// kernel's ephemeral range (32768–60999 here): a port the kernel hands out for "any port" is
/// one it may also give an outgoing connection (to PostgreSQL, through a relay) between the test
/// choosing it and the server binding it, and the server then fails to start. Ports are handed
/// out in turn from a random start, so parallel tests and test runs do not ask for the same one,
/// and each is checked free by binding it.
/// </summary>
public static class FreePorts
{
    private const int First = 20_000;
    private const int Last = 32_000;
    private static int _next = First + Random.Shared.Next(Last - First);

    public static int Next()
    {
        for (var attempt = 0; attempt < Last - First; attempt++)
        {
            var port = First + (int)((uint)(Interlocked.Increment(ref _next) - First) % (Last - First));
            if (IsFree(port))
            {
                return port;
            }
        }
        throw new InvalidOperationException($"No free loopback port between {First} and {Last}.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
