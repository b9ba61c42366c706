namespace Alto.GrainInterfaces.Common;

/// <summary>The meter every Alto process records its own figures on (exported as alto_* on /metrics).</summary>
public static class AltoMeter
{
    public const string Name = "Alto";
}
