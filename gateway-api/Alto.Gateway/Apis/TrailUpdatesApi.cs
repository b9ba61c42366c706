using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Scans;
using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Hosts;
using Alto.Scanning;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

/// <summary>The answer to a batch: staged (applied right after, off the request), or a duplicate of one staged before.</summary>
public sealed record TrailUpdateReceipt(Guid BatchId, int Updates, bool Duplicate, string Status);

/// <summary>
/// POST /api/v1/audit-updates: an agent's batch of LucidLink audit-trail updates (host
/// credential). Validated whole — the credential's tenant and host, the source, at most 10,000
/// updates, every path and kind — then staged in one transaction; the host's inventory grain applies it after the answer.
/// A bad batch changes nothing; a batch sent again (same id) is not applied twice.
/// </summary>
public static class TrailUpdatesApi
{
    public const int MaxUpdates = 10_000;
    private static readonly string[] Kinds = ["read", "write", "delete", "move"];

    public static RouteGroupBuilder MapTrailUpdatesApi(this RouteGroupBuilder api)
    {
        api.MapPost("/audit-updates", ReceiveAsync).Allows(Access.Agent)
            .RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithTags("Agents")
            .WithSummary("Upload a batch of LucidLink audit-trail updates (host credential; at most 10,000)");
        return api;
    }

    public static async Task<Results<Ok<TrailUpdateReceipt>, ValidationProblem, ProblemHttpResult>> ReceiveAsync(
        HttpContext context, TrailStaging staging, IGrainFactory grains, HostReadModel hosts, TrailUpdateBatch batch)
    {
        var agent = AgentCaller.From(context.User);
        // Paths are read as the host spells them: a Windows host's C:\Data\x.pdf, a POSIX host's /data/x.pdf.
        var flavor = await hosts.PathFlavorAsync(agent.HostId, context.RequestAborted);
        var errors = new RequestErrors();
        if (batch.UpdateBatchId is null || batch.UpdateBatchId == Guid.Empty)
        {
            errors.Add("update_batch_id", "update_batch_id is required (a UUID chosen by the agent per batch)");
        }
        if (batch.SourceType != TrailUpdateBatch.LucidLinkSource)
        {
            errors.Add("source_type", $"source_type must be {TrailUpdateBatch.LucidLinkSource}");
        }
        var updates = batch.Updates ?? [];
        if (updates.Length is 0 or > MaxUpdates)
        {
            errors.Add("updates", $"a batch holds 1 to {MaxUpdates} updates (got {updates.Length})");
        }
        else
        {
            for (var i = 0; i < updates.Length && errors.Count < 50; i++)
            {
                updates[i] = Check(errors, $"updates[{i}]", updates[i], flavor)!;
            }
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        // The credential decides who is sending; the ids in the batch must agree with it.
        if (batch.CustomerId != agent.TenantId || batch.VolumeId != agent.HostId)
        {
            return ApiProblems.Unauthorized("this host credential belongs to another host or tenant than the batch names");
        }

        // The agent's batch id is stored under its host: another host sending the same id is another batch, so none can pre-claim this host's.
        var batchId = HostScopedId(agent.HostId, batch.UpdateBatchId!.Value);
        var duplicate = !await staging.StageAsync(batchId, agent.TenantId, agent.HostId, batch.CollectedAt, updates, context.RequestAborted);
        // The agent waits for the staging only; the host's inventory grain applies the batch (and any left before it), then plans.
        await grains.GetGrain<IHostInventoryGrain>(agent.HostId.ToString()).TrailUpdatesStagedAsync();
        return TypedResults.Ok(new TrailUpdateReceipt(batch.UpdateBatchId.Value, updates.Length, duplicate, duplicate ? "duplicate" : "staged"));
    }

    /// <summary>A batch id of one host's own: a name-based UUID (RFC 9562 version 8) of the host and the agent's id.</summary>
    public static Guid HostScopedId(Guid hostId, Guid agentBatchId)
    {
        Span<byte> input = stackalloc byte[32];
        hostId.TryWriteBytes(input[..16], bigEndian: true, out _);
        agentBatchId.TryWriteBytes(input[16..], bigEndian: true, out _);
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }

    /// <summary>Checks one update; gives it back with its paths in their stored form.</summary>
    private static TrailUpdate? Check(RequestErrors errors, string field, TrailUpdate? item, PathFlavor flavor)
    {
        if (item is null)
        {
            errors.Add(field, "an update is an object");
            return null;
        }
        var path = errors.HostPath($"{field}.file_path", item.FilePath, flavor, required: true);
        if (item.AccessType is null || !Kinds.Contains(item.AccessType))
        {
            errors.Add($"{field}.access_type", $"access_type must be one of {string.Join(", ", Kinds)}");
        }
        if (item.LastAccessed is not { } at || at.ToUnixTimeSeconds() <= 0 || at > DateTimeOffset.UtcNow.AddDays(1))
        {
            errors.Add($"{field}.last_accessed", "last_accessed must be the event's time (ISO 8601), not before 1970 nor in the future");
        }
        string? target = null;
        if (item.AccessType == "move")
        {
            target = errors.HostPath($"{field}.target_path", item.TargetPath, flavor, required: true);
        }
        else if (item.TargetPath is not null)
        {
            errors.Add($"{field}.target_path", "target_path belongs to moves only");
        }
        errors.Text($"{field}.audit_file", item.AuditFile, 1024, required: false);
        return item with { FilePath = path, TargetPath = target };
    }
}
