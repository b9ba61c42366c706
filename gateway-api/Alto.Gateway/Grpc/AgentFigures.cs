using Google.Protobuf.WellKnownTypes;

namespace Alto.Gateway.Grpc;

/// <summary>
/// Figures an agent reports (times, counts, sizes, a CPU share), taken only as what they can be. A
/// time outside what a protobuf Timestamp may hold makes its conversion throw, which ended the
/// session — and the agent sent the same heartbeat again at once, for ever; a CPU share that is not
/// a number cannot be written as JSON, which failed the hosts page of the whole tenant. What cannot
/// be is taken as absent or zero.
/// </summary>
public static class AgentFigures
{
    // The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
    private const long FirstSecond = -62_135_596_800;
    private const long LastSecond = 253_402_300_799;

    /// <summary>The moment, or null when there is none or it is not a valid Timestamp.</summary>
    public static DateTimeOffset? Moment(Timestamp? timestamp) =>
        timestamp is { Seconds: >= FirstSecond and <= LastSecond, Nanos: >= 0 and <= 999_999_999 } ? timestamp.ToDateTimeOffset() : null;

    /// <summary>A count or size: never below zero.</summary>
    public static long Count(long value) => Math.Max(0, value);

    /// <summary>A count or size: never below zero.</summary>
    public static int Count(int value) => Math.Max(0, value);

    /// <summary>A share of CPU in percent: a finite number, not below zero; zero otherwise.</summary>
    public static double Share(double percent) => double.IsFinite(percent) && percent >= 0 ? percent : 0;
}
