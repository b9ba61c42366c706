using System.Runtime.Versioning;
using Alto.Agent.Recall;
using Alto.Agent.Stubs;
using Alto.TestSupport;
using Alto.Tiering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Tests.Stubs;

/// <summary>
/// A loop-mounted ext4 volume of its own with recall armed on it by a listener alone, and a folder
/// tier 2 beside it whose objects every stub's recall reads (through <c>wrap</c>, when given).
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class RecallVolume : IDisposable
{
    private readonly ScratchFileSystem _volume;
    private readonly RecallGroup _group;

    public RecallVolume(Func<ITierStore, ITierStore>? wrap = null, RecallLimits? limits = null)
    {
        _volume = ScratchFileSystem.TryCreate(out var whyNot) ?? throw new InvalidOperationException(whyNot);
        var read = wrap?.Invoke(Store) ?? Store;
        (_group, Listener) = RecallListener.TryStartAlone([_volume.Root], _ => read, NullLogger.Instance, out var noRecall, limits: limits)
                             ?? throw new InvalidOperationException(noRecall);
    }

    public string Root => _volume.Root;

    public PathTierStore Store { get; } = new(Directory.CreateTempSubdirectory("alto-recall-volume-tier2-").FullName);

    public Guid TargetId { get; } = Guid.NewGuid();

    public RecallListener Listener { get; }

    /// <summary>Makes the file a stub whose object is in <see cref="Store"/>, as a tiering job would.</summary>
    public Task<StubInfo> TierAsync(string path) => StubFiles.TierAsync(path, Store, TargetId, Listener.Hooks);

    public void Dispose()
    {
        Listener.Dispose();
        _group.Dispose();
        _volume.Dispose();
        Directory.Delete(Store.Root, true);
    }
}
