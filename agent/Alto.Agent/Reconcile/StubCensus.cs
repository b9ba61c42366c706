using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Alto.Agent.Connection;
using Alto.Agent.Stubs;
using Alto.Scanning;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Reconcile;

/// <summary>What the agent found at a path the census asked about; <see cref="PathEscaped"/> when the path is escaped, as it was asked.</summary>
public sealed record StubFactPart(string Path, string Found, string? Locator, string? Sha256, Guid? TargetId, string? Detail, bool PathEscaped = false);

/// <summary>The run's answer to a census report.</summary>
public sealed record CensusReceipt(int Taken, long Pending, string Status);

/// <summary>
/// The census of a reconciliation run on this host: for each path the cluster asks about, what is
/// there — nothing, a real file, or a stub and its markers (read from the file's attributes through
/// a descriptor that opens nothing, so no recall is started), with a stub whose binding names another
/// inode called out. Paths outside the host's volumes, links, and paths that lead out of the volumes
/// through a link are not looked at. Names that are not UTF-8 are asked escaped (\xHH per byte),
/// looked at by their own bytes (<see cref="RawPaths"/>), and answered as they were asked.
/// </summary>
public sealed partial class StubCensus(GatewayClient gateway, ILogger<StubCensus> logger)
{
    [SupportedOSPlatform("linux")]
    public Task RunAsync(Guid runId, IReadOnlyList<string> paths, IReadOnlyList<string> escapedPaths, string[] volumes, CancellationToken cancellationToken) =>
        SendAsync(runId, [.. paths.Select(path => Look(path, volumes)), .. escapedPaths.Select(path => LookEscaped(path, volumes))], cancellationToken);

    /// <summary>Sends what was found at the paths asked (on Linux by <see cref="Look"/>, elsewhere by the stub driver: <see cref="DriverStubCensus"/>).</summary>
    public async Task SendAsync(Guid runId, IReadOnlyList<StubFactPart> facts, CancellationToken cancellationToken)
    {
        var receipt = await gateway.SendCensusAsync(runId, facts, cancellationToken);
        LogReported(logger, runId, facts.Count, facts.Count(fact => fact.Found != "stub"), receipt.Pending);
    }

    /// <summary>What is at a path asked escaped, answered with the escaped text it was asked by.</summary>
    [SupportedOSPlatform("linux")]
    public static StubFactPart LookEscaped(string escaped, IReadOnlyList<string> volumes)
    {
        var fact = PathEncoding.IsWellFormed(escaped, PathEncodingKind.Escaped)
            ? Look(RawPaths.FromEscaped(escaped), volumes)
            : Unreadable(escaped, "not looked at: not a well-formed escaped path");
        return fact with { Path = escaped, PathEscaped = true, Detail = fact.Detail is { } detail ? RawPaths.Display(detail) : null };
    }

    [SupportedOSPlatform("linux")]
    public static StubFactPart Look(string path, IReadOnlyList<string> volumes)
    {
        if (VolumeScope.Refusal(path, volumes) is { } refusal)
        {
            return Unreadable(path, "not looked at: " + refusal);
        }
        // The agent runs as root and a local user may swap a folder of the path, or the stub
        // itself, for a link: the path is resolved once into a descriptor that opens nothing, where
        // it went is judged again, and only the file held is read.
        using var held = PathOnlyHandle.Open(path, out var errno);
        if (held is null)
        {
            return errno is PathOnlyHandle.ErrorNoEntry or PathOnlyHandle.ErrorNotDirectory
                ? new StubFactPart(path, "absent", null, null, null, null)
                : Unreadable(path, $"the path could not be looked at: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
        try
        {
            var status = held.Status;
            if (status.Type == FileTimes.TypeLink)
            {
                return Unreadable(path, "a symbolic link is where the stub was; the census does not follow links");
            }
            if (held.Reached is not { } reached)
            {
                return Unreadable(path, "the system could not say which file the path reached");
            }
            if (reached != path && VolumeScope.Refusal(reached, volumes) is { } escaped)
            {
                return Unreadable(path, $"not looked at: the path reached {reached}: {escaped}");
            }
            if (status.Type == FileTimes.TypeDirectory)
            {
                return Unreadable(path, "a folder is where the stub was");
            }
            if (LinuxStubs.Peek(held.Self) is not { } stub)
            {
                return new StubFactPart(path, "file", null, null, null, null);
            }
            var detail = stub.Binding is { } binding && binding.Inode != status.Inode
                ? $"the stub's markers were made for inode {binding.Inode}, not this file (inode {status.Inode}): they were copied"
                : null;
            return new StubFactPart(path, "stub", stub.Locator, stub.Sha256, stub.TargetId, detail);
        }
        catch (Exception exception) when (exception is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return Unreadable(path, exception.Message);
        }
    }

    internal static StubFactPart Unreadable(string path, string detail) =>
        new(path, "unreadable", null, null, null, detail.Length > 1000 ? detail[..1000] : detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId}: census of {Paths} path(s) sent, {NotStubs} not a stub; {Pending} path(s) of the run still wait")]
    private static partial void LogReported(ILogger logger, Guid runId, int paths, int notStubs, long pending);
}
