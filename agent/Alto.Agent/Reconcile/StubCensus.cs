using System.Runtime.Versioning;
using Alto.Agent.Connection;
using Alto.Agent.Stubs;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Reconcile;

/// <summary>What the agent found at a path the census asked about.</summary>
public sealed record StubFactPart(string Path, string Found, string? Locator, string? Sha256, Guid? TargetId, string? Detail);

/// <summary>The run's answer to a census report.</summary>
public sealed record CensusReceipt(int Taken, long Pending, string Status);

/// <summary>
/// The census of a reconciliation run on this host: for each path the cluster asks about, what is
/// there — nothing, a real file, or a stub and its markers (read from the path's attributes, never
/// by opening the file, so no recall is started), with a stub whose binding names another inode
/// called out. Paths outside the host's volumes are not looked at.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed partial class StubCensus(GatewayClient gateway, ILogger<StubCensus> logger)
{
    public async Task RunAsync(Guid runId, IReadOnlyList<string> paths, string[] volumes, CancellationToken cancellationToken)
    {
        var facts = paths.Select(path => Look(path, volumes)).ToList();
        var receipt = await gateway.SendCensusAsync(runId, facts, cancellationToken);
        LogReported(logger, runId, facts.Count, facts.Count(fact => fact.Found != "stub"), receipt.Pending);
    }

    public static StubFactPart Look(string path, IReadOnlyList<string> volumes)
    {
        if (VolumeScope.Refusal(path, volumes) is { } refusal)
        {
            return new StubFactPart(path, "unreadable", null, null, null, "not looked at: " + refusal);
        }
        if (Directory.Exists(path))
        {
            return new StubFactPart(path, "unreadable", null, null, null, "a folder is where the stub was");
        }
        if (!File.Exists(path))
        {
            return new StubFactPart(path, "absent", null, null, null, null);
        }
        try
        {
            if (LinuxStubs.Peek(path) is not { } stub)
            {
                return new StubFactPart(path, "file", null, null, null, null);
            }
            var inode = LinuxFiles.StatPath(path).Inode;
            var detail = stub.Binding is { } binding && binding.Inode != inode
                ? $"the stub's markers were made for inode {binding.Inode}, not this file (inode {inode}): they were copied"
                : null;
            return new StubFactPart(path, "stub", stub.Locator, stub.Sha256, stub.TargetId, detail);
        }
        catch (Exception exception) when (exception is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return new StubFactPart(path, "unreadable", null, null, null, exception.Message.Length > 1000 ? exception.Message[..1000] : exception.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId}: census of {Paths} path(s) sent, {NotStubs} not a stub; {Pending} path(s) of the run still wait")]
    private static partial void LogReported(ILogger logger, Guid runId, int paths, int notStubs, long pending);
}
