using System.Net;
using Alto.Scanning;

namespace Alto.Gateway.Validation;

/// <summary>
/// Where a tier-2 target may not be. A path target is a folder the root agent writes copies of
/// users' files into and reads them back from: never a system folder (its files would be
/// overwritten or served as recalls), never a top-level folder shared by everything, never inside
/// or around another tenant's target (one tenant's agent would reach the other's objects). An S3
/// or Azure endpoint is never a link-local or cloud metadata address: the agent would hand the
/// host's own cloud credentials to whoever asked it to tier there.
/// </summary>
public static class TargetPlaces
{
    private static readonly string[] SystemFolders =
        ["/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run", "/sbin", "/snap", "/sys", "/usr",
         "/var/lib", "/var/log", "/var/run", "/var/spool", "/var/cache"];

    private static readonly string[] WindowsSystemFolders = [@"C:\Windows", @"C:\Program Files", @"C:\Program Files (x86)", @"C:\ProgramData"];

    /// <summary>Top-level folders a target may be below, never at: each holds much else.</summary>
    private static readonly string[] SharedTopFolders = ["/home", "/mnt", "/media", "/opt", "/srv", "/tmp", "/var"];

    private static readonly string[] MetadataHosts = ["metadata.google.internal", "metadata", "metadata.azure.com", "instance-data", "instance-data.ec2.internal"];

    /// <summary>Why <paramref name="path"/> may not be a path target's root, or null.</summary>
    public static string? PathRefusal(string path)
    {
        var flavor = Flavor(path);
        if (flavor.Normalize(path) is not { } normal)
        {
            return $"{path} climbs above the root";
        }
        if (flavor == PathFlavor.Posix && normal == "/" || flavor == PathFlavor.Windows && normal.Length <= 3)
        {
            return $"{path} is the root of a file system; give a folder of its own";
        }
        if ((flavor == PathFlavor.Posix ? SystemFolders : WindowsSystemFolders).FirstOrDefault(folder => flavor.IsWithin(normal, folder)) is { } system)
        {
            return $"{path} is a system folder ({system}); give a folder of its own";
        }
        if (SharedTopFolders.Any(folder => normal == folder))
        {
            return $"{path} holds much else; give a folder of its own below it";
        }
        return null;
    }

    /// <summary>Whether two path targets' roots are the same folder or one is inside the other.</summary>
    public static bool Overlap(string one, string other)
    {
        var flavor = Flavor(one);
        return flavor == Flavor(other) && flavor.Normalize(one) is { } a && flavor.Normalize(other) is { } b && (flavor.IsWithin(a, b) || flavor.IsWithin(b, a));
    }

    /// <summary>Why an endpoint URL may not be used, or null: a link-local, metadata or unspecified address.</summary>
    public static string? EndpointRefusal(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return null;
        }
        var host = uri.IdnHost.TrimEnd('.');
        if (MetadataHosts.Contains(host, StringComparer.OrdinalIgnoreCase))
        {
            return $"{uri.Host} is a cloud metadata service, not storage";
        }
        return IPAddress.TryParse(host.Trim('[', ']'), out var address) && IsForbidden(address)
            ? $"{uri.Host} is a link-local, metadata or unspecified address, not storage"
            : null;
    }

    /// <summary>Link-local (169.254/16, fe80::/10, where the cloud metadata services answer), the known metadata addresses, and 0.0.0.0/::.</summary>
    public static bool IsForbidden(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.IsIPv6LinkLocal)
        {
            return true;
        }
        var bytes = address.GetAddressBytes();
        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? bytes[0] == 169 && bytes[1] == 254 || address.Equals(IPAddress.Parse("100.100.100.200"))
            : address.Equals(IPAddress.Parse("fd00:ec2::254"));
    }

    private static PathFlavor Flavor(string path) => path.StartsWith('/') ? PathFlavor.Posix : PathFlavor.Windows;
}
