using System.Net;
using System.Net.Sockets;

namespace Alto.TestSupport;

/// <summary>Loopback ports the OS says are free now, for silos and gateways started by a test.</summary>
public static class FreePorts
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
