using Alto.Scanning;

namespace Alto.Gateway.Scans;

/// <summary>
/// Where a host's scans may report files: below the volumes its admin registered (by whole
/// segments; Windows without case). A host registered without volumes is not held to any. A file
/// outside them could never be tiered (the agent refuses it), yet it would be planned, counted in
/// the analytics and kept forever, since no scan of a volume marks it gone.
/// </summary>
public sealed record ScanScope(PathFlavor Flavor, IReadOnlyList<string> Volumes)
{
    /// <summary>Why <paramref name="path"/> may not be reported, or null when it may.</summary>
    public string? Refusal(string path) =>
        Volumes.Count == 0 || Flavor.IsWithinAny(path, Volumes)
            ? null
            : $"'{(path.Length > 200 ? path[..200] + "…" : path)}' is outside the host's volumes ({string.Join(", ", Volumes)}); register the volume first";
}
