using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Alto.Tiering;

namespace Alto.Bench;

/// <summary>Stubs made the way the agent makes them, for benchmarks that need some on disk.</summary>
[SupportedOSPlatform("linux")]
internal static class BenchStubs
{
    /// <summary>Puts the file's bytes on <paramref name="store"/> and turns the file into a stub of them; the stored object.</summary>
    public static async Task<StoredObject> TierAsync(string path, ITierStore store, Guid tenantId, Guid targetId)
    {
        FileTimes before;
        using (var handle = File.OpenHandle(path))
        {
            before = LinuxFiles.Stat(handle);
        }
        StoredObject stored;
        await using (var content = File.OpenRead(path))
        {
            stored = await store.PutAsync(tenantId, content, CancellationToken.None);
        }
        LinuxStubs.MakeStub(path, new StubInfo(targetId, stored.Key, stored.Sha256, stored.Length), before);
        return stored;
    }
}
