using Alto.GrainInterfaces.Hosts;
using Alto.Scanning;

namespace Alto.Rules;

public static class HostPathFlavor
{
    /// <summary>How a host of this operating system spells its paths.</summary>
    public static PathFlavor Of(HostOs os) => os == HostOs.Windows ? PathFlavor.Windows : PathFlavor.Posix;
}
