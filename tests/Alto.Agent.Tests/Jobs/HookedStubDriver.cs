using System.Runtime.Versioning;
using Alto.Agent.Jobs;
using Alto.Agent.Stubs;
using Alto.Tiering;
using Microsoft.Win32.SafeHandles;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// The real Linux stub driver, with <paramref name="beforeStub"/> run on a file just before it is
/// made a stub and <paramref name="afterStub"/> just after: faults (an exception, a flag set by an
/// admin) injected exactly there.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class HookedStubDriver(Action<string>? beforeStub = null, Action<string>? afterStub = null) : IStubDriver
{
    private readonly LinuxStubDriver _real = LinuxStubDriver.Instance;

    public StubInfo? Read(SafeFileHandle file, string path) => _real.Read(file, path);

    public StubInfo? Peek(string path) => _real.Peek(path);

    public FileTimes Snapshot(SafeFileHandle file) => _real.Snapshot(file);

    public string? CannotStub(SafeFileHandle file) => _real.CannotStub(file);

    public bool OthersMayWrite(SafeFileHandle file) => _real.OthersMayWrite(file);

    public void MakeStub(string path, StubInfo stub, FileTimes readAt)
    {
        beforeStub?.Invoke(path);
        _real.MakeStub(path, stub, readAt);
        afterStub?.Invoke(path);
    }

    public Task<StubInfo?> RecallAsync(
        string path, Func<Guid, ITierStore> stores, CancellationToken cancellationToken, RecallCluster? cluster = null, Func<string, string?>? refusal = null) =>
        _real.RecallAsync(path, stores, cancellationToken, cluster, refusal);

    public bool Settle(SafeFileHandle file, JournalEntry entry) => _real.Settle(file, entry);
}
