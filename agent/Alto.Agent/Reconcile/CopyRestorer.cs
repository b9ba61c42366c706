using System.Runtime.Versioning;
using System.Security.Cryptography;
using Alto.Agent.Connection;
using Alto.Agent.Stubs;
using Alto.Scanning;
using Alto.Tiering;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Reconcile;

/// <summary>A lost stub's content to re-tier from a file on this host; <see cref="PathEscaped"/> when its name is not UTF-8 (escaped, \xHH per byte).</summary>
public sealed record CopyToRestore(long TierObjectId, string Path, string Sha256, long SizeBytes, Guid TargetId, string Locator, bool PathEscaped = false);

/// <summary>What became of one re-tier: restored, mismatch or failed.</summary>
public sealed record RestoredCopy(long TierObjectId, string Outcome, string? Detail);

/// <summary>
/// Re-tiers the content of stubs a reconciliation run found lost from intact copies on this host:
/// each file (below the host's volumes, a real file and not a link or a stub) is hashed, and only
/// if it still holds the lost content is it uploaded — which lands on the lost object's key, the
/// key being the content's hash. Nothing else is read or written, and the file is left as it is.
/// Every file is reached by its own bytes (<see cref="RawPaths"/>): a name may not be UTF-8.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed partial class CopyRestorer(GatewayClient gateway, TargetDirectory targets, Guid tenantId, ILogger<CopyRestorer> logger)
{
    public async Task RunAsync(Guid runId, string[] volumes, CancellationToken cancellationToken)
    {
        var copies = await gateway.GetRestoresAsync(runId, cancellationToken);
        if (copies.Count == 0)
        {
            return;
        }
        foreach (var targetId in copies.Select(copy => copy.TargetId).Distinct())
        {
            // Where the target is now, with its credentials now (it may have moved since a job brought it).
            await targets.RefreshAsync(targetId, cancellationToken);
        }
        var results = new List<RestoredCopy>(copies.Count);
        foreach (var copy in copies)
        {
            results.Add(await RestoreAsync(copy, volumes, cancellationToken));
            LogRestore(logger, runId, copy.Path, results[^1].Outcome, results[^1].Detail ?? copy.Locator);
        }
        await gateway.SendRestoredAsync(runId, results, cancellationToken);
    }

    private async Task<RestoredCopy> RestoreAsync(CopyToRestore copy, string[] volumes, CancellationToken cancellationToken)
    {
        if (copy.PathEscaped && !PathEncoding.IsWellFormed(copy.Path, PathEncodingKind.Escaped))
        {
            return new RestoredCopy(copy.TierObjectId, "failed", "not read: not a well-formed escaped path");
        }
        var path = copy.PathEscaped ? RawPaths.FromEscaped(copy.Path) : copy.Path;
        if (VolumeScope.Refusal(path, volumes) is { } refusal)
        {
            return new RestoredCopy(copy.TierObjectId, "failed", "not read: " + RawPaths.Display(refusal));
        }
        try
        {
            if (RealFileLength(path) is not { } length)
            {
                return new RestoredCopy(copy.TierObjectId, "mismatch", "no real file is at the path any more (gone, a link, or a stub)");
            }
            if (length != copy.SizeBytes || await HashAsync(path, cancellationToken) != copy.Sha256)
            {
                return new RestoredCopy(copy.TierObjectId, "mismatch", "the file no longer holds the lost content (it was changed)");
            }
            await using var content = OpenNoFollow(path);
            var stored = await targets.Store(copy.TargetId).PutAsync(tenantId, content, cancellationToken);
            return stored.Key == copy.Locator && stored.Sha256 == copy.Sha256
                ? new RestoredCopy(copy.TierObjectId, "restored", null)
                : new RestoredCopy(copy.TierObjectId, "mismatch", $"the file changed while it was uploaded (it went up as {stored.Key})");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidDataException or TierStoreUnavailableException
                                              && !cancellationToken.IsCancellationRequested)
        {
            var message = RawPaths.Display(exception.Message);
            return new RestoredCopy(copy.TierObjectId, "failed", message.Length > 1000 ? message[..1000] : message);
        }
    }

    /// <summary>The length of the regular file at the path itself, not a stub; null when none is there (gone, a link, a folder, a stub).</summary>
    private static long? RealFileLength(string path)
    {
        using var held = PathOnlyHandle.Open(path, out _);
        return held is not null && held.Status is { Type: FileTimes.TypeRegular } status && LinuxStubs.Peek(held.Self) is null ? status.Size : null;
    }

    private static async Task<string> HashAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = OpenNoFollow(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
    }

    /// <summary>
    /// Opens the file for reading only when it is a regular file at the path itself: not a link put
    /// in its place meanwhile, nor a pipe or device (<see cref="RegularFileOpen"/>).
    /// </summary>
    private static FileStream OpenNoFollow(string path)
    {
        var handle = RegularFileOpen.Open(path, FileAccess.Read, _ => "it leads elsewhere (a link)", out var refused)
            ?? throw new IOException($"{RawPaths.Display(path)}: {refused}: not read");
        return new FileStream(handle, FileAccess.Read, 1 << 20);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId}: re-tier from the copy at {Path}: {Outcome} ({Detail})")]
    private static partial void LogRestore(ILogger logger, Guid runId, string path, string outcome, string detail);
}
