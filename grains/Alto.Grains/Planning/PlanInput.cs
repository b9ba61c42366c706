using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tenants;
using Alto.Rules;
using Alto.Scanning;

namespace Alto.Grains.Planning;

/// <summary>Everything a plan of one host depends on besides its inventory, fixed at the start.</summary>
public sealed record PlanInput(
    Guid TenantId,
    Guid HostId,
    PathFlavor Flavor,
    IReadOnlyList<RuleInfo> Rules,
    IReadOnlyList<StorageTargetInfo> Targets,
    long BytesPerSecond,
    DateTimeOffset Now)
{
    /// <summary>The host's registered volumes: recall on open is armed only there, so nothing outside them is planned.</summary>
    public IReadOnlyList<string> Volumes { get; init; } = [];

    /// <summary>The tenant's smallest tierable file.</summary>
    public long MinTierableBytes { get; init; }

    /// <summary>Whether new jobs wait for approval.</summary>
    public PlanApproval Approval { get; init; }

    public PlanScope Scope => new(Flavor, Volumes, MinTierableBytes);

    /// <summary>Transfer rate assumed for estimates when a host has no bandwidth limit: 100 MiB/s.</summary>
    public const long AssumedBytesPerSecond = 100L * 1024 * 1024;

    public RuleSet CompileRules() =>
        RuleSet.Compile(Rules, Flavor, Now, HostId, UnusableTarget);

    public static long EstimateSeconds(long bytes, long bytesPerSecond) =>
        bytes <= 0 ? 0 : (bytes + bytesPerSecond - 1) / bytesPerSecond;

    private string? UnusableTarget(Guid targetId)
    {
        var target = Targets.FirstOrDefault(t => t.Id == targetId);
        return target is null ? $"storage target {targetId} no longer exists"
            : !target.Enabled ? $"storage target '{target.Name}' is disabled"
            : null;
    }
}
