using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.Protocol.Agent.V1;
using Alto.Scanning;
using Grpc.Core;

namespace Alto.Gateway.Grpc;

/// <summary>Recall reports from the agent protocol as grain contracts, validated whole: one bad item refuses the message.</summary>
public static class RecallMessages
{
    public const int MaxEventsPerReport = 1000;
    /// <summary>In characters: a path of 4,096 bytes, each escaped as \xHH, fits.</summary>
    public const int MaxPathLength = ScanColumns.MaxPathLength;

    public static RecallReportItem[] FromReport(RecallReport report)
    {
        if (report.Events.Count is 0 or > MaxEventsPerReport)
        {
            throw Invalid($"recall_report carries {report.Events.Count} recalls; 1 to {MaxEventsPerReport}");
        }
        return [.. report.Events.Select((recall, i) => FromEvent(recall, $"recall_report.events[{i}]"))];
    }

    public static RecallReportItem FromEvent(RecallEvent recall, string field)
    {
        if (recall.FilePath.Length is 0 or > MaxPathLength)
        {
            throw Invalid($"{field}.file_path must be a path of 1 to {MaxPathLength} characters");
        }
        if (recall.FilePath.Contains('\0', StringComparison.Ordinal))
        {
            throw Invalid($"{field}.file_path holds a NUL character, which no path does");
        }
        if (recall.PathEscaped && !PathEncoding.IsWellFormed(recall.FilePath, PathEncodingKind.Escaped))
        {
            throw Invalid($"{field}.file_path is marked escaped but has a backslash not followed by xHH");
        }
        return new RecallReportItem(recall.FilePath, recall.Ok, Math.Max(0, recall.DurationMs), AgentText.ReadableOrNull(recall.Error, 2000))
        {
            PathEscaped = recall.PathEscaped,
        };
    }

    private static RpcException Invalid(string detail) => new(new Status(StatusCode.InvalidArgument, detail));
}
