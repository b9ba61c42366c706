using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Alto.Agent.Scanning;

/// <summary>User names by uid, looked up once each (getpwuid is not thread-safe, hence the lock).</summary>
[SupportedOSPlatform("linux")]
internal static unsafe partial class OwnerNames
{
    private static readonly ConcurrentDictionary<uint, string> Cache = new();
    private static readonly Lock Gate = new();

    public static string Of(uint uid) => Cache.GetOrAdd(uid, Lookup);

    private static string Lookup(uint uid)
    {
        lock (Gate)
        {
            var entry = getpwuid(uid);
            // struct passwd starts with char* pw_name.
            return entry == 0 ? uid.ToString(System.Globalization.CultureInfo.InvariantCulture) : Marshal.PtrToStringUTF8(*(nint*)entry) ?? "";
        }
    }

    [LibraryImport("libc")]
    private static partial nint getpwuid(uint uid);
}
