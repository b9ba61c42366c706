using System.Runtime.Versioning;
using System.Security.Cryptography;
using Alto.Agent.Connection;
using Alto.Agent.Stubs;
using Alto.Tiering;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Reconcile;

/// <summary>A lost stub's content to re-tier from a file on this host.</summary>
public sealed record CopyToRestore(long TierObjectId, string Path, string Sha256, long SizeBytes, Guid TargetId, string Locator);

/// <summary>What became of one re-tier: restored, mismatch or failed.</summary>
public sealed record RestoredCopy(long TierObjectId, string Outcome, string? Detail);

/// <summary>
/// Re-tiers the content of stubs a reconciliation run found lost from intact copies on this host:
/// each file (below the host's volumes, a real file and not a link or a stub) is hashed, and only
/// if it still holds the lost content is it uploaded — which lands on the lost object's key, the
/// key being the content's hash. Nothing else is read or written, and the file is left as it is.
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
        if (VolumeScope.Refusal(copy.Path, volumes) is { } refusal)
        {
            return new RestoredCopy(copy.TierObjectId, "failed", "not read: " + refusal);
        }
        try
        {
            var file = new FileInfo(copy.Path);
            if (!file.Exists || file.LinkTarget is not null || LinuxStubs.Peek(copy.Path) is not null)
            {
                return new RestoredCopy(copy.TierObjectId, "mismatch", "no real file is at the path any more (gone, a link, or a stub)");
            }
            if (file.Length != copy.SizeBytes || await HashAsync(copy.Path, cancellationToken) != copy.Sha256)
            {
                return new RestoredCopy(copy.TierObjectId, "mismatch", "the file no longer holds the lost content (it was changed)");
            }
            await using var content = OpenNoFollow(copy.Path);
            var stored = await targets.Store(copy.TargetId).PutAsync(tenantId, content, cancellationToken);
            return stored.Key == copy.Locator && stored.Sha256 == copy.Sha256
                ? new RestoredCopy(copy.TierObjectId, "restored", null)
                : new RestoredCopy(copy.TierObjectId, "mismatch", $"the file changed while it was uploaded (it went up as {stored.Key})");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidDataException or TierStoreUnavailableException
                                              && !cancellationToken.IsCancellationRequested)
        {
            return new RestoredCopy(copy.TierObjectId, "failed", exception.Message.Length > 1000 ? exception.Message[..1000] : exception.Message);
        }
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
        var handle = RegularFileOpen.Open(Path.GetFullPath(path), FileAccess.Read, _ => "it leads elsewhere (a link)", out var refused)
            ?? throw new IOException($"{path}: {refused}: not read");
        return new FileStream(handle, FileAccess.Read, 1 << 20);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconcile run {RunId}: re-tier from the copy at {Path}: {Outcome} ({Detail})")]
    private static partial void LogRestore(ILogger logger, Guid runId, string path, string outcome, string detail);
}
