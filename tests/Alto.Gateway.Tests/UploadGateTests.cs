using Alto.Gateway.Scans;

namespace Alto.Gateway.Tests;

/// <summary>How many chunk uploads the gateway takes in at once: a host beyond its share is refused (429), the gateway beyond its total (503), and places come back.</summary>
[Trait("Layer", "Unit")]
public sealed class UploadGateTests
{
    private static UploadGate Gate(int total, int perHost) =>
        new(Microsoft.Extensions.Options.Options.Create(new ScanUploadOptions { MaxConcurrentUploads = total, MaxConcurrentUploadsPerHost = perHost }));

    [Fact]
    public void AHostBeyondItsShareIsRefusedWhileAnotherHostGetsIn()
    {
        var gate = Gate(total: 8, perHost: 2);
        var bomber = Guid.NewGuid();
        var first = gate.TryEnter(bomber);
        var second = gate.TryEnter(bomber);

        Assert.Equal(UploadRefusal.HostBusy, gate.TryEnter(bomber).Refusal);
        var neighbour = gate.TryEnter(Guid.NewGuid());
        Assert.Equal(UploadRefusal.None, neighbour.Refusal);
        Assert.NotNull(neighbour.Lease);

        first.Lease!.Dispose();
        first.Lease.Dispose(); // twice is once
        Assert.Equal(UploadRefusal.None, gate.TryEnter(bomber).Refusal);
        Assert.Equal(UploadRefusal.HostBusy, gate.TryEnter(bomber).Refusal);
        second.Lease!.Dispose();
    }

    [Fact]
    public void TheGatewayBeyondItsTotalRefusesEveryone()
    {
        var gate = Gate(total: 3, perHost: 2);
        var leases = Enumerable.Range(0, 3).Select(_ => gate.TryEnter(Guid.NewGuid()).Lease!).ToList();

        Assert.Equal(UploadRefusal.GatewayBusy, gate.TryEnter(Guid.NewGuid()).Refusal);

        leases[0].Dispose();
        Assert.Equal(UploadRefusal.None, gate.TryEnter(Guid.NewGuid()).Refusal);
    }
}
