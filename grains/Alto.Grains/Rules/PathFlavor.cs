using Alto.GrainInterfaces.Hosts;

namespace Alto.Grains.Rules;

/// <summary>How a host spells paths: POSIX is case-sensitive with '/'; Windows ignores case and takes '\' or '/'.</summary>
public enum PathFlavor
{
    Posix = 0,
    Windows = 1,
}

public static class PathFlavors
{
    public static PathFlavor Of(HostOs os) => os == HostOs.Windows ? PathFlavor.Windows : PathFlavor.Posix;
}
