using Npgsql;

namespace Alto.Audit;

/// <summary>
/// Who asked for a change and from where: the gateway puts the signed-in user (or the agent) and
/// the client address into the Orleans request context of every call it makes, and it flows
/// with the call into the grain that makes the change.
/// </summary>
public static class AuditContext
{
    public const string ActorKey = "alto.actor";
    public const string OriginKey = "alto.origin";

    /// <summary>The caller, or "system" for changes Alto makes on its own (planner, timers).</summary>
    public static string Actor => RequestContext.Get(ActorKey) as string ?? "system";

    public static string? Origin => RequestContext.Get(OriginKey) as string;

    /// <summary>Sets both for the calls made from here on in this asynchronous flow.</summary>
    public static void Set(string actor, string? origin)
    {
        RequestContext.Set(ActorKey, actor);
        if (origin is not null)
        {
            RequestContext.Set(OriginKey, origin);
        }
    }
}

/// <summary>
/// Audits what grains record on their own: admin changes (the action, the object, its view before
/// and after — views never hold secrets —, the actor and the origin) and events they saw. Written
/// right after the change is stored; a grain's state write is not a SQL transaction the entry
/// could join.
/// </summary>
public sealed class AdminAudit(NpgsqlDataSource db)
{
    public Task RecordAsync(Guid? tenantId, string action, string objectType, string objectId, object? before, object? after,
        IReadOnlyDictionary<string, object?>? extra = null, Guid? hostId = null)
    {
        var details = new Dictionary<string, object?> { ["before"] = before, ["after"] = after };
        foreach (var (key, value) in extra ?? new Dictionary<string, object?>())
        {
            details[key] = value;
        }
        return AuditLog.AppendAsync(db,
            new AuditEntry(tenantId, AuditContext.Actor, action, objectType, objectId, Succeeded: true, details) { Origin = AuditContext.Origin, HostId = hostId },
            CancellationToken.None);
    }

    /// <summary>An entry of its own, for what a grain saw happen (a refused report, a failed job) rather than an admin's change.</summary>
    public Task RecordAsync(AuditEntry entry) => AuditLog.AppendAsync(db, entry, CancellationToken.None);
}
