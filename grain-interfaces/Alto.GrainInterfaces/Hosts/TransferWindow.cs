namespace Alto.GrainInterfaces.Hosts;

/// <summary>
/// When a host may send data to tier 2: on <see cref="Days"/> ("daily", "mon-fri", "sat,sun", ...)
/// from <see cref="Start"/> to <see cref="End"/> ("HH:MM", the host's time zone; an end before the
/// start runs past midnight), optionally at a bandwidth of its own.
/// </summary>
[GenerateSerializer, Immutable, Alias("Alto.TransferWindow")]
public sealed record TransferWindow(
    [property: Id(0)] string Days,
    [property: Id(1)] string Start,
    [property: Id(2)] string End,
    [property: Id(3)] long? BytesPerSecond);
